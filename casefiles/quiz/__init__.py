"""Training sets and the learners' quiz (issue #17, scope 4): pure rules over frozen values.

* :mod:`casefiles.quiz.model`: a training set, its questions, a learner's attempt; their records.
* :mod:`casefiles.quiz.matching`: is a typed answer one of the accepted ones.
* :mod:`casefiles.quiz.flow`: who may do what, what each reveal step shows, answering, scores, CSV.

The use cases as a signed-in person are in :mod:`casefiles.acting.quiz`; nothing here reads the
store or imports Streamlit.
"""
