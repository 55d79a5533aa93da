"""Non-DICOM media in a case: photos and pathology images, video clips, PDFs and PowerPoint slides.

Each module takes raw input that the caller placed inside a quarantine working
folder and returns scrubbed bytes (identifying metadata removed) plus what the
case needs to show it; nothing here writes outside the folder it is given.
"""
