"""Staff, schools and school assignments from the district's own systems.

Every system is a source (`sources.Source`): it reads the district's data into one `Roster` of
plain rows, and refuses the rows it cannot take, each with where it was and why. One apply step
(`service.apply`) turns a roster into teachers, schools and memberships, whatever the source.
"""
