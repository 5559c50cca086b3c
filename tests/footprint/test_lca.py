"""Matrix LCA: hand-computed systems, bw2calc and SciPy agreement, errors, Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve
from stats_arrays import MCRandomNumberGenerator

from mics.errors import InvalidInput
from mics.footprint.lca import compile_system
from mics.footprint.model import (
    CharacterisationFactor,
    Dataset,
    Exchange,
    Flow,
    Process,
    Uncertainty,
)
from mics.footprint.monte_carlo import ExchangeSampler, compare, monte_carlo

FLOWS = (
    Flow("co2", "carbon dioxide, fossil", "kg", "air"),
    Flow("ch4", "methane, non-fossil", "kg", "air"),
    Flow("co2_luc", "carbon dioxide, land transformation", "kg", "air"),
)
FACTORS = (
    CharacterisationFactor("gwp100_fossil", "co2", 1.0, "kg CO2e", "IPCC AR6"),
    CharacterisationFactor("gwp100_biogenic", "ch4", 27.0, "kg CO2e", "IPCC AR6"),
    CharacterisationFactor("gwp100_luc", "co2_luc", 1.0, "kg CO2e", "IPCC AR6"),
)


def process(pid: str, unit: str = "kg") -> Process:
    return Process(pid, pid, unit, "IT", "material", "test")


def tech(
    to: str, provider: str, amount: float, unit: str = "kg", u: Uncertainty | None = None
) -> Exchange:
    return Exchange(to, provider, "technosphere", amount, unit, "test", u or Uncertainty())


def bio(to: str, flow: str, amount: float, u: Uncertainty | None = None) -> Exchange:
    return Exchange(to, flow, "biosphere", amount, "kg", "test", u or Uncertainty())


def loop_dataset(sigma_g: float = 1.2) -> Dataset:
    """Electricity needs steel (for the plant), steel needs electricity; a widget needs both."""
    return Dataset(
        "loop",
        (process("elec", "kWh"), process("steel"), process("widget", "item")),
        FLOWS,
        (
            tech("elec", "steel", 1.0, "g"),  # 1 g = 0.001 kg of steel per kWh
            tech("steel", "elec", 2.0, "kWh"),
            tech("widget", "steel", 3.0, "kg", Uncertainty("lognormal", sigma_g=sigma_g)),
            tech("widget", "elec", 5.0, "kWh"),
            bio("elec", "co2", 0.5, Uncertainty("normal", sd=0.05)),
            bio("steel", "co2", 1.8, Uncertainty("triangular", low=1.5, high=2.4)),
            bio("steel", "ch4", 0.01, Uncertainty("uniform", low=0.005, high=0.02)),
            bio("steel", "co2_luc", 0.2),
            bio("widget", "co2", 0.1),
        ),
        FACTORS,
    )


# Hand solution: s_e = 5 + 2 s_s, s_s = 3 + 0.001 s_e  =>  s_e = 11 / 0.998
S_ELEC = 11.0 / 0.998
S_STEEL = 3.0 + 0.001 * S_ELEC
FOSSIL = 0.5 * S_ELEC + 1.8 * S_STEEL + 0.1
BIOGENIC = 27.0 * 0.01 * S_STEEL
LUC = 0.2 * S_STEEL


def random_dataset(n: int, seed: int) -> Dataset:
    """A seeded random sparse system with loops (column sums of inputs < 0.3)."""
    rng = np.random.default_rng(seed)
    exchanges = []
    for j in range(n):
        for i in rng.choice(n, 3, replace=False):
            if i != j:
                exchanges.append(tech(f"p{j}", f"p{i}", float(rng.uniform(0, 0.1))))
        for flow in rng.choice(len(FLOWS), 2, replace=False):
            exchanges.append(bio(f"p{j}", FLOWS[flow].id, float(rng.uniform(0, 2))))
    processes = tuple(process(f"p{j}") for j in range(n))
    return Dataset("random", processes, FLOWS, tuple(exchanges), FACTORS)


def test_supply_of_a_loop_matches_the_hand_solution() -> None:
    system = compile_system(loop_dataset())
    assert system.supply({"widget": 1.0}) == pytest.approx([S_ELEC, S_STEEL, 1.0], rel=1e-12)


def test_gwp100_is_the_sum_of_its_fossil_biogenic_and_luc_parts() -> None:
    system = compile_system(loop_dataset())
    scores = {s.method: s for s in system.footprint({"widget": 2.0})}
    assert scores["gwp100_fossil"].value == pytest.approx(2 * FOSSIL, rel=1e-12)
    assert scores["gwp100_biogenic"].value == pytest.approx(2 * BIOGENIC, rel=1e-12)
    assert scores["gwp100_luc"].value == pytest.approx(2 * LUC, rel=1e-12)
    assert scores["gwp100"].value == pytest.approx(2 * (FOSSIL + BIOGENIC + LUC), rel=1e-12)
    assert scores["gwp100"].parts == ("gwp100_fossil", "gwp100_biogenic", "gwp100_luc")
    assert scores["gwp100"].unit == "kg CO2e"


def test_score_equals_the_bw2calc_lca_on_the_same_datapackages() -> None:
    system = compile_system(loop_dataset())
    lca = system.bw2calc_lca({"widget": 1.0, "steel": 2.0}, "gwp100")
    assert system.score({"widget": 1.0, "steel": 2.0}, "gwp100") == pytest.approx(
        lca.score, rel=1e-12
    )


def test_inventory_lists_each_flow_of_the_life_cycle() -> None:
    inventory = compile_system(loop_dataset()).inventory({"widget": 1.0})
    assert inventory["co2"] == pytest.approx(FOSSIL, rel=1e-12)
    assert inventory["ch4"] == pytest.approx(0.01 * S_STEEL, rel=1e-12)


def test_scores_agree_with_bw2calc_and_spsolve_on_a_random_sparse_system() -> None:
    dataset = random_dataset(60, seed=7)
    system = compile_system(dataset)
    n = len(dataset.processes)
    a = sp.identity(n, format="lil")
    b = sp.lil_matrix((len(FLOWS), n))
    flows = {f.id: k for k, f in enumerate(FLOWS)}
    for e in dataset.exchanges:
        j = int(e.process[1:])
        if e.kind == "technosphere":
            a[int(e.input[1:]), j] -= e.amount
        else:
            b[flows[e.input], j] += e.amount
    c = np.array([1.0, 27.0, 1.0])
    rng = np.random.default_rng(3)
    for _ in range(3):
        f = np.zeros(n)
        f[rng.choice(n, 2, replace=False)] = rng.uniform(0.5, 2.0, 2)
        demand = {f"p{j}": float(f[j]) for j in np.flatnonzero(f)}
        expected = c @ (b.tocsr() @ spsolve(a.tocsc(), f))
        assert system.score(demand, "gwp100") == pytest.approx(expected, rel=1e-9)
        assert system.bw2calc_lca(demand, "gwp100").score == pytest.approx(expected, rel=1e-9)


def test_scores_many_equals_one_by_one() -> None:
    system = compile_system(random_dataset(40, seed=11))
    demands = [{f"p{j}": 1.0 + j} for j in range(40)] + [{"p1": 1.0, "p2": -0.5}]
    one_by_one = [system.score(d, "gwp100_fossil") for d in demands]
    assert system.scores_many(demands, "gwp100_fossil") == pytest.approx(one_by_one, rel=1e-12)
    assert len(set(one_by_one)) == len(demands)


def test_contributions_split_the_score_by_process_and_supply_chain() -> None:
    system = compile_system(loop_dataset())
    result = system.contributions({"widget": 1.0}, "gwp100_fossil", cutoff=0.05, max_depth=2)
    assert result.total == pytest.approx(FOSSIL)
    assert [c.process for c in result.direct] == ["elec", "steel"]  # widget's 0.1 is below 5 %
    assert result.direct[0].direct == pytest.approx(0.5 * S_ELEC)
    assert result.direct[1].share == pytest.approx(1.8 * S_STEEL / FOSSIL)
    assert result.other_direct == pytest.approx(0.1)
    (root,) = result.tree
    assert (root.process, root.direct) == ("widget", 0.1)
    assert root.total == pytest.approx(FOSSIL)
    steel, elec = root.children
    assert (steel.process, steel.amount, elec.amount) == ("steel", 3.0, 5.0)
    lam = system.adjoint_vector("gwp100_fossil")
    assert steel.total == pytest.approx(3.0 * lam[system.index["steel"]])
    assert [c.process for c in steel.children] == ["elec"]  # 6 kWh; deeper levels cut
    assert steel.children[0].children == ()


def test_unit_conversion_and_unknown_or_mismatched_units() -> None:
    dataset = loop_dataset()
    bad_unit = (*dataset.exchanges[:1], tech("steel", "elec", 2.0, "kwh"), *dataset.exchanges[2:])
    with pytest.raises(InvalidInput, match=r"unknown unit 'kwh'.*kWh"):
        compile_system(Dataset("d", dataset.processes, FLOWS, bad_unit, FACTORS))
    mismatch = (*dataset.exchanges[:1], tech("steel", "elec", 2.0, "kg"), *dataset.exchanges[2:])
    with pytest.raises(InvalidInput, match=r"steel <- elec.*'kg' \(mass\).*'kWh' \(energy\)"):
        compile_system(Dataset("d", dataset.processes, FLOWS, mismatch, FACTORS))


def test_missing_provider_is_named_with_the_fix() -> None:
    dataset = loop_dataset()
    missing = (*dataset.exchanges, tech("widget", "aluminium", 1.0))
    with pytest.raises(InvalidInput, match=r"widget <- aluminium.*missing provider") as error:
        compile_system(Dataset("d", dataset.processes, FLOWS, missing, FACTORS))
    assert error.value.field == f"exchanges[{len(missing) - 1}].input"
    flow_as_process = (*dataset.exchanges, tech("widget", "co2", 1.0))
    with pytest.raises(InvalidInput, match="kind='biosphere'"):
        compile_system(Dataset("d", dataset.processes, FLOWS, flow_as_process, FACTORS))


def test_negative_mass_is_rejected() -> None:
    dataset = loop_dataset()
    negative = (*dataset.exchanges, bio("widget", "co2", -1.0))
    with pytest.raises(InvalidInput, match=r"widget <- co2.*negative mass"):
        compile_system(Dataset("d", dataset.processes, FLOWS, negative, FACTORS))


def test_singular_loop_names_its_processes_only() -> None:
    processes = (process("a"), process("b"), process("c"))
    exchanges = (
        tech("a", "b", 2.0),
        tech("b", "a", 0.5),
        tech("c", "a", 1.0),
        bio("c", "co2", 1.0),
    )
    with pytest.raises(InvalidInput, match="singular") as error:
        compile_system(Dataset("d", processes, FLOWS, exchanges, FACTORS))
    assert error.value.value == ["a", "b"]
    self_loop = (tech("a", "a", 1.0), bio("a", "co2", 1.0))
    with pytest.raises(InvalidInput, match=r"consumes 1.0 kg of its own product"):
        compile_system(Dataset("d", processes, FLOWS, self_loop, FACTORS))


def test_duplicate_ids_unknown_flows_methods_and_demands_raise() -> None:
    dataset = loop_dataset()
    with pytest.raises(InvalidInput, match=r"appears twice.*not be square"):
        compile_system(Dataset("d", (*dataset.processes, process("steel")), FLOWS, (), FACTORS))
    bad_factor = (*FACTORS, CharacterisationFactor("ced", "oil", 45.0, "MJ", "x"))
    with pytest.raises(InvalidInput, match=r"flow 'oil' is not in dataset.flows"):
        compile_system(Dataset("d", dataset.processes, FLOWS, dataset.exchanges, bad_factor))
    system = compile_system(dataset)
    with pytest.raises(InvalidInput, match=r"no indicator 'ced'.*gwp100"):
        system.score({"widget": 1.0}, "ced")
    with pytest.raises(InvalidInput, match="no process 'gadget'"):
        system.score({"gadget": 1.0}, "gwp100")


def test_bad_uncertainty_parameters_name_the_exchange() -> None:
    dataset = loop_dataset()
    for u in (
        Uncertainty("lognormal", sigma_g=0.9),
        Uncertainty("triangular", low=4.0, high=5.0),
        Uncertainty("normal"),
    ):
        exchanges = (*dataset.exchanges, tech("widget", "steel", 3.0, "kg", u))
        with pytest.raises(
            InvalidInput, match=rf"exchanges\[9\] \(widget <- steel\).*{u.distribution}"
        ):
            compile_system(Dataset("d", dataset.processes, FLOWS, exchanges, FACTORS))


def test_monte_carlo_is_reproducible_for_a_seed() -> None:
    system = compile_system(loop_dataset())
    first = monte_carlo(system, {"widget": 1.0}, "gwp100", iterations=200, seed=5)
    again = monte_carlo(system, {"widget": 1.0}, "gwp100", iterations=200, seed=5)
    other = monte_carlo(system, {"widget": 1.0}, "gwp100", iterations=200, seed=6)
    assert np.array_equal(first.samples, again.samples)
    assert not np.array_equal(first.samples, other.samples)
    assert first.low < first.median < first.high
    assert first.samples.std() > 0.05 * first.deterministic


def test_monte_carlo_mean_is_close_to_the_deterministic_score_for_small_spread() -> None:
    processes = (process("a"), process("b"))
    small = Uncertainty("lognormal", sigma_g=1.01)
    exchanges = (  # only the last of the three flows is used: B has one row
        tech("a", "b", 2.0, "kg", small),
        bio("a", "co2_luc", 1.0, small),
        bio("b", "co2_luc", 3.0, small),
    )
    system = compile_system(Dataset("d", processes, FLOWS, exchanges, FACTORS))
    result = monte_carlo(system, {"a": 1.0}, "gwp100_luc", iterations=300, seed=1)
    assert result.deterministic == pytest.approx(7.0)
    assert result.mean == pytest.approx(7.0, rel=2e-3)
    assert result.high - result.low == pytest.approx(2 * 1.96 * result.sd, rel=0.2)
    assert 0.0 < result.sd < 0.02 * 7.0


def test_iterative_solves_equal_refactorised_ones() -> None:
    system = compile_system(_with_uncertainty(random_dataset(50, seed=2)))
    iterative = monte_carlo(system, {"p3": 1.0}, "gwp100", iterations=20, seed=9)
    direct = monte_carlo(system, {"p3": 1.0}, "gwp100", iterations=20, seed=9, refactorise=True)
    assert iterative.samples == pytest.approx(direct.samples, rel=1e-9)
    assert (iterative.direct_solves, direct.direct_solves) == (0, 20)
    assert np.ptp(iterative.samples) > 0.1 * iterative.deterministic


def _with_uncertainty(dataset: Dataset) -> Dataset:
    spread = Uncertainty("lognormal", sigma_g=1.3)
    exchanges = tuple(
        Exchange(e.process, e.input, e.kind, e.amount, e.unit, e.source, spread)
        for e in dataset.exchanges
    )
    return Dataset(dataset.name, dataset.processes, dataset.flows, exchanges, dataset.factors)


def test_sampler_draws_the_distributions_bw2calc_samples() -> None:
    technosphere, biosphere = compile_system(loop_dataset(sigma_g=1.5)).entries
    ours = ExchangeSampler.of(technosphere, biosphere)
    rng = np.random.default_rng(0)
    drawn = np.array([ours.draw(rng) for _ in range(10_000)])
    params = np.concatenate([technosphere.distributions(), biosphere.distributions()])
    signs = np.concatenate([technosphere.signs, biosphere.signs])
    reference = MCRandomNumberGenerator(params, seed=0)
    theirs = reference.generate(10_000).T * signs  # bw2calc applies the flip after sampling
    quantiles = [5, 25, 50, 75, 95]
    for k in range(len(signs)):
        q_ours, q_theirs = (
            np.percentile(drawn[:, k], quantiles),
            np.percentile(theirs[:, k], quantiles),
        )
        spread = max(q_theirs[-1] - q_theirs[0], 1e-4 * abs(q_theirs[2]))  # float32 loc
        assert np.abs(q_ours - q_theirs).max() <= 0.04 * spread, k


def test_monte_carlo_agrees_with_bw2calc_monte_carlo() -> None:
    system = compile_system(loop_dataset())
    ours = monte_carlo(system, {"widget": 1.0}, "gwp100", iterations=3000, seed=2)
    lca = system.bw2calc_lca({"widget": 1.0}, "gwp100", use_distributions=True, seed=2)
    theirs = np.array([next(lca) or lca.score for _ in range(300)])
    error = np.hypot(ours.sd / np.sqrt(3000), theirs.std() / np.sqrt(300))
    assert abs(ours.mean - theirs.mean()) < 4 * error
    assert ours.sd == pytest.approx(theirs.std(), rel=0.2)


def test_compare_uses_common_random_numbers() -> None:
    system = compile_system(loop_dataset())
    result = compare(system, {"widget": 1.0}, {"widget": 0.97}, "gwp100", iterations=300, seed=4)
    assert result.variant.low < result.baseline.high  # the two intervals overlap ...
    assert result.significant  # ... but paired draws show the 3 % saving every time
    assert result.probability_lower == 1.0
    assert result.mean == pytest.approx(-0.03 * result.baseline.mean, rel=1e-9)
    same = compare(system, {"widget": 1.0}, {"widget": 1.0}, "gwp100", iterations=50, seed=4)
    assert (same.low, same.high, same.significant) == (0.0, 0.0, False)


def test_monte_carlo_needs_iterations() -> None:
    system = compile_system(loop_dataset())
    with pytest.raises(InvalidInput, match="iterations"):
        monte_carlo(system, {"widget": 1.0}, "gwp100", iterations=1)
