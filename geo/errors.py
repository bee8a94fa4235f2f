"""What goes wrong with input geometry, said so that a person can find and fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GeometryProblem:
    """One thing wrong with an input geometry: where it is in the input (a path such as
    "collection.features[3].geometry.coordinates[0][4]"), why, and whose it is ('grid "G01"')."""

    where: str
    reason: str
    feature: str | None = None
    code: str = "INVALID_GEOMETRY"

    def __str__(self) -> str:
        who = f"{self.feature}: " if self.feature else ""
        return f"{who}{self.where}: {self.reason}"


class InvalidGeometry(ValueError):
    """Raised with every problem found in one geometry (or point); str() lists them all."""

    def __init__(self, problems: list[GeometryProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
