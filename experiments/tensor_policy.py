"""`discoverygym tensor-policy`: train AlphaTensor's factor policy on synthetic demonstrations,
then let it guide a beam search on the matmul tensor.

    discoverygym tensor-policy train --size 2x2x2 --steps 16000 --out experiments/models/guided_tensor_2x2x2.pt
    discoverygym tensor-policy search --model experiments/models/guided_tensor_2x2x2.pt --max-rank 7 \
        --width 1024 --bases 300 --basis-density 0.1

`train` writes the policy (``.pt``: float16 weights, config, loss history, compute, W&B run) and
its training curve (``.curve.png``). `search` runs `search_in_bases` (`guided_search` in the
standard basis, then in up to ``--bases - 1`` random ones), replays the scheme it finds in
`discoverygym/TensorDecomposition-v0` (the env checks it) and prints the rank, the time and the
work. The shipped <2,2,2> policy finds rank 7 in random bases, not in the standard one
(docs/results/rl_attempts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from discoverygym.experiments.rl_commands import fail

app = typer.Typer(
    help="AlphaTensor's factor policy: train it on synthetic demonstrations, search with it.",
    no_args_is_help=True,
)
console = Console()


def _top(text: str) -> tuple[int, int, int]:
    try:
        values = tuple(int(x) for x in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 1:
        raise fail(f"--top {text!r}: expected three integers >= 1, e.g. 8,4,2")
    return values  # type: ignore[return-value]


@app.command()
def train(
    size: Annotated[str, typer.Option(help="Tensor size NxMxP (standard arithmetic).")] = "2x2x2",
    out: Annotated[Path, typer.Option(help="Where to write the policy (.pt).")] = Path(
        "runs/tensor-policy/policy.pt"
    ),
    steps: Annotated[int, typer.Option(help="Training batches.")] = 6000,
    batch_size: Annotated[int, typer.Option(help="Synthetic demonstrations per batch.")] = 512,
    max_rank: Annotated[
        int | None, typer.Option(help="Terms per demonstration: 1..max_rank (default n*m*p).")
    ] = None,
    hidden: Annotated[int, typer.Option(help="Trunk width.")] = 768,
    learning_rate: Annotated[float, typer.Option(help="AdamW peak learning rate.")] = 1e-3,
    seed: Annotated[int, typer.Option(help="Seed of the demonstrations and the weights.")] = 0,
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 1,
    wandb: Annotated[bool, typer.Option(help="Log the loss to W&B (offline unless logged in).")] = True,
) -> None:
    """Train a factor policy on synthetic demonstrations (no matmul scheme is ever shown)."""
    import torch as th
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from discoverygym.agents.rl.tensor_factors import (
        FactorPolicyConfig,
        save_factor_policy,
        train_factor_policy,
    )
    from discoverygym.envs.tensor.known import parse_size

    try:
        n, m, p = parse_size(size)
        config = FactorPolicyConfig(
            n=n, m=m, p=p, max_rank=max_rank, hidden=hidden, steps=steps,
            batch_size=batch_size, learning_rate=learning_rate, seed=seed,
        )
    except ValueError as error:
        raise fail(str(error)) from None
    if out.suffix != ".pt":
        raise fail(f"--out {out}: the policy file must end in .pt")
    th.set_num_threads(threads)
    command = (
        f"discoverygym tensor-policy train --size {size} --steps {steps} --batch-size {batch_size} "
        f"--hidden {hidden} --learning-rate {learning_rate} --seed {seed}"
        + (f" --max-rank {max_rank}" if max_rank else "")
    )
    run = None
    if wandb:
        from dataclasses import asdict

        from discoverygym.agents.rl.tracking import WandbSettings, start_run

        out.parent.mkdir(parents=True, exist_ok=True)
        run = start_run(WandbSettings(), {**asdict(config), "reproduce": command}, out.parent,
                        job_type="train-factor-policy")

    def on_step(step: int, loss: float) -> None:
        progress.update(task, completed=step, loss=f"{loss:.3f}")
        if run is not None:
            run.log({"global_step": step, "loss": loss, "demonstrations": step * batch_size}, step=step)

    with Progress(
        TextColumn("training"), BarColumn(), TextColumn("{task.completed}/{task.total} loss {task.fields[loss]}"),
        TimeRemainingColumn(), console=console,
    ) as progress:
        task = progress.add_task("train", total=steps, loss="-")
        trained = train_factor_policy(config, on_step=on_step)
    extra: dict[str, str] = {"reproduce": command}
    if run is not None:
        run.summary.update({f"compute/{k}": v for k, v in trained.compute.items()})
        extra["wandb_run"] = f"{run.dir} ({run.id})"
        run.finish()
    save_factor_policy(trained, out, **extra)
    curve = plot_loss_curve(trained.history, out.with_suffix(".curve.png"), f"factor policy <{n},{m},{p}>")
    interrupted = trained.compute["steps"] < steps
    console.print(
        f"{'Interrupted: ' if interrupted else ''}{int(trained.compute['steps'])} steps, "
        f"{trained.compute['cpu_seconds']:.0f} CPU s; policy {out}, curve {curve}"
    )
    if interrupted:
        raise typer.Exit(130)


def plot_loss_curve(history: list[tuple[int, float]], out: Path, title: str) -> Path:
    """The training loss (summed cross-entropy of u, v, w) against the step."""
    from discoverygym.agents.figures import pyplot, save_png

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6, 3.5))
    if history:
        steps, losses = zip(*history, strict=True)
        axis.plot(steps, losses)
    axis.set_xlabel("training step (batches of synthetic demonstrations)")
    axis.set_ylabel("cross-entropy of (u, v, w), nats")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    return save_png(figure, out)


@app.command()
def search(
    model: Annotated[Path, typer.Option(help="A factor policy (.pt) from `train`.")],
    max_rank: Annotated[
        int | None, typer.Option(help="Longest scheme to look for (default: the naive rank minus one).")
    ] = None,
    width: Annotated[int, typer.Option(help="Beam width.")] = 256,
    top: Annotated[str, typer.Option(help="Proposals per state: k_u,k_v,k_w.")] = "8,4,2",
    time_budget: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    bases: Annotated[
        int, typer.Option(help="Search the target in the standard basis, then in up to bases-1 random ones.")
    ] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the random bases.")] = 0,
    basis_density: Annotated[
        float, typer.Option(help="Share of nonzero off-diagonal entries in the random bases' triangular factors.")
    ] = 0.1,
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 1,
) -> None:
    """Search for a scheme of the matmul tensor with the policy (AlphaTensor's change of basis
    with --bases); replay it in the env."""
    import torch as th

    from discoverygym.agents.base import run_episode
    from discoverygym.agents.rl.tensor_factors import load_factor_policy
    from discoverygym.agents.rl.tensor_guided import GuidedSearchAgent
    from discoverygym.envs.tensor.env import TensorDecompositionEnv
    from discoverygym.envs.tensor.tensors import verify_matmul_decomposition

    proposals = _top(top)
    if bases < 1:
        raise fail(f"--bases {bases}: expected an integer >= 1")
    if not 0.0 <= basis_density <= 1.0:
        raise fail(f"--basis-density {basis_density}: expected a share in [0, 1]")
    th.set_num_threads(threads)
    try:
        policy, _ = load_factor_policy(model)
    except (FileNotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    config = policy.config
    agent = GuidedSearchAgent(
        policy, coefficients=config.coefficients, max_rank=max_rank, width=width, top=proposals,
        time_budget=time_budget, bases=bases, seed=seed, density=basis_density,
    )
    env = TensorDecompositionEnv(config.n, config.m, config.p, coefficients=config.coefficients)
    result = run_episode(env, agent, seed=0)
    found = agent.result
    size = f"<{config.n},{config.m},{config.p}>"
    if found is None or found.rank is None:
        console.print(
            f"{size}: no scheme of rank <= {agent.max_rank} found in {found.bases} "
            f"{'basis' if found.bases == 1 else 'bases'} "
            f"({found.states} states, {found.out_of_range} schemes with coefficients out of "
            f"range, {found.seconds:.1f} s); the agent played the naive scheme"
        )
        raise typer.Exit(1)
    rank = verify_matmul_decomposition(config.n, config.m, config.p, *result.final_info["decomposition"])
    console.print(
        f"{size}: rank {rank} (env and checker agree) in {found.seconds:.1f} s; "
        f"{found.rounds} rounds, {found.states} states, {found.terms} terms scored; "
        f"found in basis {found.basis} of {found.bases} searched (0: the standard basis; "
        f"{found.out_of_range} schemes dropped before for coefficients out of range)"
    )
