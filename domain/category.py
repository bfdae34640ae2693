"""CategoryTree: the shop's categories, one tree, one aggregate.

One aggregate holds the whole tree so that a move is checked against the tree as it is when
the move is decided: moving a category under itself or under one of its own descendants
would cut the branch off the tree, and is refused. Categories are named by a stable id;
their slug (the URL word) and name change by `CategoryRenamed`, their place by
`CategoryMoved`, so a product keeps its category across renames and moves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError, NotFoundError
from domain.text import text_problem

TREE_ID = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/category-tree")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG = 60
MAX_NAME = 80
MAX_DEPTH = 6
MAX_CATEGORIES = 2_000


class CategoryError(DomainError):
    """Base of the errors the category tree raises."""


class InvalidCategoryError(CategoryError, InvalidInputError):
    """A slug or name that breaks the rules, or a parent that does not exist."""


class CategoryCycleError(CategoryError, InvalidInputError):
    """A category moved under itself or one of its own descendants."""


class CategoryNotFoundError(CategoryError, NotFoundError):
    """No category has that slug."""


class CategorySlugTakenError(CategoryError):
    """Another category already has that slug."""


def check_slug(slug: str) -> None:
    if not isinstance(slug, str) or len(slug) > MAX_SLUG or not SLUG.match(slug):
        raise InvalidCategoryError(
            f"a slug is 1 to {MAX_SLUG} lowercase letters, digits and single hyphens"
        )


@dataclass(frozen=True)
class Category:
    category_id: UUID
    slug: str
    name: str
    parent_id: UUID | None


class CategoryTree(EcoAggregate):
    class Started(EcoAggregate.Created):
        pass

    class CategoryAdded(EcoAggregate.Event):
        category_id: UUID
        slug: str
        name: str
        parent_id: UUID | None

    class CategoryRenamed(EcoAggregate.Event):
        category_id: UUID
        slug: str
        name: str

    class CategoryMoved(EcoAggregate.Event):
        category_id: UUID
        parent_id: UUID | None

    @staticmethod
    def create_id() -> UUID:
        return TREE_ID

    @classmethod
    def start(cls) -> CategoryTree:
        return cls()

    @event(Started)
    def __init__(self) -> None:
        self.categories: dict[UUID, Category] = {}

    # Queries ------------------------------------------------------------------------------
    def by_slug(self, slug: str) -> Category:
        for category in self.categories.values():
            if category.slug == slug:
                return category
        raise CategoryNotFoundError(f"no category {slug!r}")

    def ancestors(self, category_id: UUID) -> list[UUID]:
        """The ids from the root down to `category_id`'s parent."""
        chain: list[UUID] = []
        parent = self.categories[category_id].parent_id
        while parent is not None:
            chain.insert(0, parent)
            parent = self.categories[parent].parent_id
        return chain

    def depth_below(self, category_id: UUID) -> int:
        """Levels of the branch under `category_id` (0 for a leaf)."""
        children = [c for c in self.categories.values() if c.parent_id == category_id]
        return 1 + max((self.depth_below(c.category_id) for c in children), default=-1)

    # Guards -------------------------------------------------------------------------------
    @staticmethod
    def check_name(name: str) -> None:
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME:
            raise InvalidCategoryError(f"a category name is 1 to {MAX_NAME} characters")
        problem = text_problem(name)
        if problem:
            raise InvalidCategoryError(f"a category name: {problem}")

    def check_slug_free(self, slug: str, but: UUID | None = None) -> None:
        check_slug(slug)
        if any(c.slug == slug and c.category_id != but for c in self.categories.values()):
            raise CategorySlugTakenError(f"the slug {slug!r} is taken")

    def check_room(self) -> None:
        if len(self.categories) >= MAX_CATEGORIES:
            raise InvalidCategoryError(f"a shop has at most {MAX_CATEGORIES} categories")

    def check_depth(self, parent_id: UUID | None, branch: int = 0) -> None:
        depth = 0 if parent_id is None else len(self.ancestors(parent_id)) + 1
        if depth + branch >= MAX_DEPTH:
            raise InvalidCategoryError(f"categories nest at most {MAX_DEPTH} levels deep")

    def check_not_under_itself(self, category_id: UUID, parent_id: UUID | None) -> None:
        if parent_id is None:
            return
        if parent_id == category_id or category_id in self.ancestors(parent_id):
            raise CategoryCycleError(
                f"{self.categories[category_id].slug!r} cannot move under "
                f"{self.categories[parent_id].slug!r}: that is itself or one of its own "
                "descendants"
            )

    def _parent_id(self, parent_slug: str | None) -> UUID | None:
        if parent_slug is None:
            return None
        try:
            return self.by_slug(parent_slug).category_id
        except CategoryNotFoundError:
            raise InvalidCategoryError(f"no parent category {parent_slug!r}") from None

    # Commands -----------------------------------------------------------------------------
    def add(self, slug: str, name: str, parent_slug: str | None = None) -> UUID:
        self.check_room()
        self.check_slug_free(slug)
        self.check_name(name)
        parent_id = self._parent_id(parent_slug)
        self.check_depth(parent_id)
        category_id = uuid4()
        self._added(category_id=category_id, slug=slug, name=name.strip(), parent_id=parent_id)
        return category_id

    def rename(self, slug: str, *, new_slug: str | None = None, name: str | None = None) -> None:
        category = self.by_slug(slug)
        new_slug = category.slug if new_slug is None else new_slug
        name = category.name if name is None else name
        self.check_slug_free(new_slug, but=category.category_id)
        self.check_name(name)
        if (new_slug, name.strip()) != (category.slug, category.name):
            self._renamed(category_id=category.category_id, slug=new_slug, name=name.strip())

    def move(self, slug: str, parent_slug: str | None) -> None:
        """Under `parent_slug`, or to the root with None."""
        category = self.by_slug(slug)
        parent_id = self._parent_id(parent_slug)
        self.check_not_under_itself(category.category_id, parent_id)
        self.check_depth(parent_id, self.depth_below(category.category_id))
        if parent_id != category.parent_id:
            self._moved(category_id=category.category_id, parent_id=parent_id)

    # Mutators -----------------------------------------------------------------------------
    @event(CategoryAdded)
    def _added(self, category_id: UUID, slug: str, name: str, parent_id: UUID | None) -> None:
        self.categories[category_id] = Category(category_id, slug, name, parent_id)

    @event(CategoryRenamed)
    def _renamed(self, category_id: UUID, slug: str, name: str) -> None:
        old = self.categories[category_id]
        self.categories[category_id] = Category(category_id, slug, name, old.parent_id)

    @event(CategoryMoved)
    def _moved(self, category_id: UUID, parent_id: UUID | None) -> None:
        old = self.categories[category_id]
        self.categories[category_id] = Category(category_id, old.slug, old.name, parent_id)
