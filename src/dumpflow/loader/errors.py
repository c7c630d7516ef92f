"""The one error a load or a validation raises: it names the dump, the stage and the cause."""

from __future__ import annotations


class LoadError(RuntimeError):
    """A load failed; the target schema is exactly as it was before.

    ``stage`` is one of ``read`` (source, gzip, digest), ``parse``, ``policy``, ``execute``,
    ``verify`` (required tables), ``quality`` (the quality gate refused the content:
    ``QualityRejected``) or ``publish``.
    """

    def __init__(
        self,
        dump: str,
        stage: str,
        cause: str,
        *,
        offset: int | None = None,
        statement: int | None = None,
    ) -> None:
        self.dump = dump
        self.stage = stage
        self.cause = cause
        self.offset = offset
        self.statement = statement
        where = ""
        if statement is not None:
            where = f" at statement {statement}"
            if offset is not None:
                where += f" (byte offset {offset})"
        super().__init__(f"{dump}: {stage} failed{where}: {cause}")

    def to_dict(self) -> dict[str, object]:
        return {
            "dump": self.dump,
            "stage": self.stage,
            "cause": self.cause,
            "statement": self.statement,
            "offset": self.offset,
            "message": str(self),
        }
