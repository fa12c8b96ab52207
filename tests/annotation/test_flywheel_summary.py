"""The flywheel over several seeds: the table it prints is the mean ± sample sd (min..max) over the
seeds of the active model after each round, on val and on the untouched test set, with per round how
many seeds promoted and how many went up or down."""

from __future__ import annotations

from annotation.management.commands.simulate_flywheel import RoundReport, SeedReport, summary_lines


def scores(mask: float) -> dict:
    return {p: {"jf": mask} for p in ("mask", "1-click", "box")}


def seed_report(seed: int, val: list[float], test: list[float], promoted: list[bool]) -> SeedReport:
    rounds = [RoundReport(k, k, f"v{k}", "3 masklets", {"val": scores(val[k])}, promoted[k - 1], scores(val[k]),
                          scores(test[k])) for k in (1, 2, 3)]
    return SeedReport(seed, rounds, scores(val[0]), scores(test[0]), None, 1.0)


def test_the_seeds_table_gives_mean_spread_and_counts() -> None:
    reports = [seed_report(0, [30.9, 47.8, 50.5, 50.5], [30.0, 40.0, 45.0, 45.0], [True, True, False]),
               seed_report(1, [28.9, 40.5, 44.9, 44.9], [30.0, 38.0, 36.0, 36.0], [True, True, False]),
               seed_report(2, [30.0, 44.0, 46.0, 52.0], [30.0, 42.0, 44.0, 47.0], [True, True, True])]
    lines = summary_lines(reports)
    row = {line.split()[0] + (line.split()[1] if line.startswith("round") else ""): line for line in lines[2:-1]}
    # Round 1 on val: 47.8, 40.5, 44.0 -> mean 44.1, sample sd 3.65.
    assert "44.1 ± 3.7 (40.5..47.8)" in row["round1"]
    # Round 3: one seed promoted (and rose, on val and on test), the two that kept their model stayed put.
    assert row["round3"].split()[-9:] == ["1/3", "1", "up", "0", "down", "1", "up", "0", "down"]
    # Round 2 on test: 40 -> 45 up, 38 -> 36 down, 42 -> 44 up.
    assert row["round2"].split()[-4:] == ["2", "up", "1", "down"] and "3/3" in row["round1"]
    assert lines[-1] == ("GT-mask J&F of the active model, start -> round 3, mean over 3 seeds: "
                         "val 29.9 -> 49.1, test 30.0 -> 42.7")
