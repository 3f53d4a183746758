from ler_plugin.errors import LerError


class CourseError(LerError):
    """A facilitator's award that cannot be made: no course, no roster, bad input."""
