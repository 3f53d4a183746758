"""PD courses in the LMS as a facilitator runs them: the roster (NRPS), PD credit awarded into
the attendees' wallets, scores back to the gradebook (AGS). Orchestrates `lti` and `wallet`."""
