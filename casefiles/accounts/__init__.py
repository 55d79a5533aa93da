"""Accounts: who may sign in to CaseDeck (issue #16). The hospital directory lives in ``directory``."""
