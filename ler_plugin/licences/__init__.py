"""Licences: the state credentials teachers hold, loaded from the district's files or edited by its
admins, their expiry and renewal-cycle end, and the reminders sent before either."""
