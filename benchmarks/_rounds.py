"""Measuring several runners in rounds, the runners taking turns, so that a slow spell of a
shared machine falls on all of them alike."""

from typing import Any, Callable, Dict, List, Sequence, TypeVar

Runner = TypeVar("Runner")


def take_turns(runners: Sequence[Runner], rounds: int,
               measure: Callable[[Runner], Dict[str, Any]]) -> Dict[Runner, List[Dict[str, Any]]]:
    """Each runner's results from `rounds` rounds of measure(runner) for every runner in turn. A
    runner whose result holds an "error" is not measured again."""
    results: Dict[Runner, List[Dict[str, Any]]] = {runner: [] for runner in runners}
    for _ in range(rounds):
        for runner in runners:
            if not any("error" in done for done in results[runner]):
                results[runner].append(measure(runner))
    return results
