"""The canonical learning categories used across the product, with the labels people read.

State rulesets name their categories in their own words ("language acquisition addressing the
needs of English language learners", "ESE"); each ruleset maps those names onto these keys, so
records, rollups and compliance speak one vocabulary.
"""

CATEGORIES: dict[str, str] = {
    "ell": "English-language learners",
    "special_education": "Students with disabilities (special education)",
    "literacy": "Literacy and reading",
    "stem": "Science, technology, engineering and mathematics",
    "leadership": "Leadership and administration",
    "technology": "Instructional technology",
    "sel": "Social-emotional learning",
    "content_knowledge": "Content knowledge",
    "mentoring": "Mentoring another educator",
    "independent_study": "Independent study",
    "presenting": "Developing or presenting professional learning",
    "other": "Other professional learning",
}

OTHER = "other"


def category_label(category: str) -> str:
    """The human label of a canonical category (the key itself when it is not canonical)."""
    return CATEGORIES.get(category, category)
