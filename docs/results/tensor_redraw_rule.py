# A hand-written flip-graph proposal rule (not evolved): a check of what the tensor game's
# fitness rewards. It redraws a term, mode and partner until they make a flip, so no attempt of
# the walk's budget is spent on None or on a term paired with itself (at most 1000 draws per call).
# README, "Evolution with the embedded model": held-out walks with
#     python docs/results/evolved_tensor_heldout.py seed docs/results/tensor_redraw_rule.py
# `Flip` is provided by the game (its preamble); only `propose` is taken from this file.
import random


def propose(state, rng: random.Random):
    """Returns the next flip to try, redrawing until one is found (None after 1000 draws)."""
    for _ in range(1000):
        i = state.ids[rng.randrange(len(state.ids))]
        mode = rng.randrange(3)
        group = state.groups[mode][state.keys[i][mode]]
        if len(group) < 2:
            continue
        j = rng.choice(tuple(group))
        if j == i:
            continue
        return Flip(i, j, mode, 1 if rng.random() < 0.5 else -1)  # noqa: F821 - the game's
    return None
