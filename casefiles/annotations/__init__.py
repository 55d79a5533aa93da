"""Annotations on key images: the model (image-pixel geometry), measurements, burn-in and DICOM GSPS.

Import from the submodules (``model``, ``measure``, ``burn``, ``gsps``). The
package itself stays empty so that ``casefiles.model`` can use the annotation
model without importing the imaging and DICOM writers behind burn-in and GSPS.
"""
