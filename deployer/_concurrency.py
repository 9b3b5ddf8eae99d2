"""Running calls side by side: results in order, and the first failure itself (not an `ExceptionGroup`)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["both", "gather"]

T = TypeVar("T")
U = TypeVar("U")


async def gather(*calls: Coroutine[Any, Any, T]) -> list[T]:
    """Run `calls` together and return their results in order; on the first failure cancel the others (so none
    outlives the client it uses) and raise that failure itself."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except ExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    return [task.result() for task in tasks]


async def both(first: Coroutine[Any, Any, T], second: Coroutine[Any, Any, U]) -> tuple[T, U]:
    """Two calls of different result types at once, typed; failures as in `gather`."""
    try:
        async with asyncio.TaskGroup() as group:
            one = group.create_task(first)
            two = group.create_task(second)
    except ExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    return one.result(), two.result()
