"""CP-SAT model of the planner: worker TYPES per grid, shared-worker units and B arcs.

Concrete workers are interchangeable within a type (gender x experience class: new, mid,
senior), so the model decides, per grid, the type of its A worker (at most as many grids per
type as there are workers of that type), and the B of each grid as an arc to a neighbouring grid
(B variables only on adjacency arcs, plus a few nearest-grid fallback arcs for islands). With
more grids than workers every worker holds a *unit*: a root grid plus up to ``cap_a - 1``
grids attached to it (adjacent ones; the nearest non-adjacent ones as a penalised fallback),
all of one type; a B never comes from the grid's own unit. Concrete workers are matched to units
afterwards (``geo.assignment.matching``).

Objective, lexicographic, solved as a sequence of CP-SAT stages (each optimised within its
share of the time limit, then fixed as a constraint, the solution hinted to the next):

1. coverage: minimise rule violations, weighted lexicographically: grids of one worker that
   are not adjacent, then B roles taken from non-adjacent grids (by rank of distance), then
   B roles beyond ``Problem.cap_b`` per worker;
2. stability: maximise the current roles kept (an A kept when the grid keeps the type and
   unit of its current A worker, a B kept when the B arc points to a grid kept by the current B);
3. mentoring: maximise grids whose pair is (new, senior) or (senior, new);
4. mixed gender: maximise grids whose pair has two genders;
5. balance: minimise the largest worker load (A loads + ``b_load_share`` x B loads, scaled to
   integers); the mean load is the same for every plan, so this minimises max/mean.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from ortools.sat.python import cp_model

from geo.assignment.problem import NEW, SENIOR, Problem

log = logging.getLogger(__name__)

LOAD_SCALE = 10_000
"""The heaviest grid's load in integer load units."""


@dataclass
class TypeSolution:
    """Per grid: type index, root of its unit, and the grid whose A is its B."""

    type_keys: list[tuple[str, str]]
    types: list[int]
    root_of: list[int]
    b_to: dict[int, int]
    status: str


class TypeModel:
    """Builds the CP-SAT model for one Problem; ``solve`` runs the stages."""

    def __init__(self, p: Problem) -> None:
        self.p = p
        self.m = cp_model.CpModel()
        self.keys, self.wtype = p.type_keys()
        self.cover: list[cp_model.LinearExprT] = []
        self.stable: list[cp_model.LinearExprT] = []
        self._types()
        self._b_arcs()
        self._loads()
        self._pairs()
        if p.cur_a or p.cur_b:
            self._stability()

    # ------------------------------------------------------------------ variables
    def _types(self) -> None:
        p, m, n_types = self.p, self.m, len(self.keys)
        self.x = [[m.new_bool_var(f"x{g}_{t}") for t in range(n_types)] for g in range(p.n_grids)]
        for g in range(p.n_grids):
            m.add_exactly_one(self.x[g])
        count = [self.wtype.count(t) for t in range(n_types)]
        self.att: dict[tuple[int, int], cp_model.IntVar] = {}
        if not p.shared:
            self.root = None
            for t in range(n_types):
                m.add(sum(self.x[g][t] for g in range(p.n_grids)) <= count[t])
            return
        split = p.n_grids * (p.cap_a + 2) * (p.n_grids + 1) + 1
        self.root = [m.new_bool_var(f"root{g}") for g in range(p.n_grids)]
        m.add(sum(self.root) == p.n_workers)
        for g in range(p.n_grids):
            for r, pen in p.near_arcs(g, 2 * p.cap_a + 2):
                var = self.att[g, r] = m.new_bool_var(f"att{g}_{r}")
                if pen:  # one worker's grids apart outweigh every B fallback and overload
                    self.cover.append(pen * split * var)
        into: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for (g, r), var in self.att.items():
            into[r].append(var)
            m.add_implication(var, self.root[r])
            for t in range(n_types):
                m.add(self.x[g][t] == self.x[r][t]).only_enforce_if(var)
        out: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for (g, _), var in self.att.items():
            out[g].append(var)
        for g in range(p.n_grids):
            m.add(self.root[g] + sum(out[g]) == 1)
            if into[g]:
                m.add(sum(into[g]) <= (p.cap_a - 1) * self.root[g])
        for t in range(n_types):
            z = []
            for g in range(p.n_grids):
                zt = m.new_bool_var(f"z{g}_{t}")
                m.add_bool_and([self.x[g][t], self.root[g]]).only_enforce_if(zt)
                m.add_bool_or([self.x[g][t].Not(), self.root[g].Not(), zt])
                z.append(zt)
            m.add(sum(z) == count[t])

    def _b_arcs(self) -> None:
        p, m = self.p, self.m
        self.b: dict[tuple[int, int], cp_model.IntVar] = {}
        if p.n_grids < 2 or p.n_workers < 2:
            return
        for g in range(p.n_grids):
            arcs = p.b_arcs(g)
            for h, pen in arcs:
                var = self.b[g, h] = m.new_bool_var(f"b{g}_{h}")
                if pen:  # a B from a non-adjacent grid outweighs every B overload
                    self.cover.append(pen * (p.n_grids + 1) * var)
            m.add_exactly_one(self.b[g, h] for h, _ in arcs)
        if not p.shared:
            return
        roots_of: dict[int, set[int]] = defaultdict(set)
        for g, r in self.att:
            roots_of[g].add(r)
        for (g, h), var in self.b.items():  # never a B from the grid's own unit
            for pair in ((g, h), (h, g)):
                if pair in self.att:
                    m.add_bool_or([var.Not(), self.att[pair].Not()])
            for r in roots_of[g] & roots_of[h]:
                m.add_bool_or([var.Not(), self.att[g, r].Not(), self.att[h, r].Not()])

    def _share(self, g: int, pick: set[str], by: int) -> cp_model.LinearExprT:
        """1 when the A type of ``g`` has component ``by`` (0 gender, 1 class) in ``pick``."""
        return sum(self.x[g][t] for t, key in enumerate(self.keys) if key[by] in pick)

    def _pairs(self) -> None:
        """Mixed-gender and mentoring indicators per B arc, with aggregated cuts for the LP."""
        p, m = self.p, self.m
        genders = sorted({k[0] for k in self.keys})
        classes = {k[1] for k in self.keys}
        self.mixed: list[cp_model.IntVar] = []
        self.mentor: list[cp_model.IntVar] = []
        per_grid: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        mixed_of: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        given: dict[tuple[int, str], list[cp_model.IntVar]] = defaultdict(list)
        taken: dict[tuple[int, str], list[cp_model.IntVar]] = defaultdict(list)
        for (g, h), b in self.b.items():
            if len(genders) > 1:
                mx = m.new_bool_var(f"mx{g}_{h}")
                m.add(mx <= b)
                for q in genders:  # mx only when b and the genders differ
                    m.add(self._share(g, {q}, 0) + self._share(h, {q}, 0) <= 2 - mx)
                self.mixed.append(mx)
                mixed_of[g].append(mx)
            if {NEW, SENIOR} <= classes:
                for mine, theirs in ((NEW, SENIOR), (SENIOR, NEW)):
                    mt = m.new_bool_var(f"mt{g}_{h}_{mine}")
                    ours, other = self._share(g, {mine}, 1), self._share(h, {theirs}, 1)
                    m.add(mt <= b)  # mt only when b, g is `mine` and h is `theirs`
                    m.add(mt <= ours)
                    m.add(mt <= other)
                    self.mentor.append(mt)
                    per_grid[g].append(mt)
                    taken[g, mine].append(mt)
                    given[h, theirs].append(mt)
        for group in [*per_grid.values(), *mixed_of.values()]:
            m.add(sum(group) <= 1)
        for (g, cls), mts in taken.items():
            m.add(sum(mts) <= self._share(g, {cls}, 1))
        cap_b = p.cap_b
        for (h, cls), mts in given.items():
            cap = min(cap_b, len(mts))
            m.add(sum(mts) <= cap * self._share(h, {cls}, 1) + self.excess.get(h, 0))

    def _loads(self) -> None:
        p, m = self.p, self.m
        top = max((p.load(g) for g in range(p.n_grids)), default=0.0) or 1.0
        scale = LOAD_SCALE / top
        la = [round(p.load(g) * scale) for g in range(p.n_grids)]
        lb = [round(p.load(g) * scale * p.settings.b_load_share) for g in range(p.n_grids)]
        into: dict[int, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
        for (g, h), var in self.b.items():
            into[h].append((g, var))
        own = [la[h] + sum(lb[g] * v for g, v in into[h]) for h in range(p.n_grids)]
        count = [sum(v for _, v in into[h]) for h in range(p.n_grids)]
        own_ub = [la[h] + sum(lb[g] for g, _ in into[h]) for h in range(p.n_grids)]
        ub = max(own_ub, default=0) * max(1, p.cap_a)
        self.max_load = m.new_int_var(0, ub, "max_load")
        attached: dict[int, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
        for (g, r), var in self.att.items():
            attached[r].append((g, var))
        cap_b = p.cap_b
        self.excess: dict[int, cp_model.IntVar] = {}
        for r in range(p.n_grids):
            total, b_total = [own[r]], [count[r]]
            for g, var in attached[r]:
                y = m.new_int_var(0, own_ub[g], f"y{g}_{r}")
                m.add(y >= own[g]).only_enforce_if(var)
                c = m.new_int_var(0, len(into[g]), f"c{g}_{r}")
                m.add(c >= count[g]).only_enforce_if(var)
                total.append(y)
                b_total.append(c)
            m.add(self.max_load >= sum(total))
            reach = len(into[r]) + sum(len(into[g]) for g, _ in attached[r])
            if reach > cap_b:
                excess = self.excess[r] = m.new_int_var(0, reach - cap_b, f"excess{r}")
                m.add(excess >= sum(b_total) - cap_b)
                self.cover.append(excess)

    def _stability(self) -> None:
        p, m = self.p, self.m
        keep_root: dict[int, cp_model.IntVar] = {}
        by_worker: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for g, w in p.cur_a.items():
            var = keep_root[g] = m.new_bool_var(f"keep{g}")
            m.add_implication(var, self.x[g][self.wtype[w]])
            if self.root is not None:
                m.add_implication(var, self.root[g])
            by_worker[w].append(var)
        for vars_ in by_worker.values():
            m.add_at_most_one(vars_)
        kept: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for g, var in keep_root.items():
            kept[g].append(var)
        for (g, r), att in self.att.items():
            if g in p.cur_a and p.cur_a[g] == p.cur_a.get(r):
                var = m.new_bool_var(f"keepatt{g}_{r}")
                m.add_implication(var, att)
                m.add_implication(var, keep_root[r])
                kept[g].append(var)
        self.stable = [v for vs in kept.values() for v in vs]
        for (g, h), b in self.b.items():
            if g in p.cur_b and p.cur_b[g] == p.cur_a.get(h):
                var = m.new_bool_var(f"keepb{g}_{h}")
                m.add_implication(var, b)
                m.add(var <= sum(kept[h]))
                self.stable.append(var)

    # ------------------------------------------------------------------ solving
    def hint(self, a_of: dict[int, int], b_of: dict[int, int]) -> None:
        """Hint the decision variables with an assignment (e.g. the greedy plan)."""
        p, m = self.p, self.m
        m.clear_hints()
        held: dict[int, list[int]] = defaultdict(list)
        for g in sorted(a_of):
            held[a_of[g]].append(g)
        for g in range(p.n_grids):
            t = self.wtype[a_of[g]] if g in a_of else -1
            for s, var in enumerate(self.x[g]):
                m.add_hint(var, s == t)
        if self.root is not None:
            roots = {}
            for grids in held.values():
                r = max(grids, key=lambda r: (sum((g, r) in self.att for g in grids), -r))
                roots.update({g: r for g in grids})
            for g in range(p.n_grids):
                m.add_hint(self.root[g], roots.get(g) == g)
            for (g, r), var in self.att.items():
                m.add_hint(var, roots.get(g) == r and g != r)
        out: dict[int, list[int]] = defaultdict(list)
        for g, h in self.b:
            out[g].append(h)
        for g, v in b_of.items():
            h = next((h for h in out[g] if a_of.get(h) == v), None)
            for k in out[g]:
                m.add_hint(self.b[g, k], k == h)

    def solve(self, budget: float, deadline: float) -> TypeSolution | None:
        """Run the stages within ``budget`` deterministic seconds in all (so the same input
        gives the same plan) and the wall-clock ``deadline``; None when nothing was found."""
        p, m = self.p, self.m
        stages = [("coverage", sum(self.cover), False, 1.0)]
        if self.stable:
            stages.append(("stability", sum(self.stable), True, 1.5))
        stages += [
            ("mentoring", sum(self.mentor), True, 3.0),
            ("gender", sum(self.mixed), True, 3.0),
            ("balance", self.max_load, False, 0.5),
        ]
        stages = [s for s in stages if not isinstance(s[1], int)]
        spare = 0.0  # deterministic time left over by earlier stages
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.random_seed = p.settings.seed
        params.linearization_level = 2  # the LP of all constraints proves the stages fast
        params.num_workers = p.settings.search_workers
        values: list[int] | None = None
        all_optimal = True
        for name, expr, maximise, weight in stages:
            share = budget * weight / sum(s[3] for s in stages)
            share += spare if name != "balance" else 0.0  # LNS can polish the balance
            params.max_deterministic_time = share  # deterministic: same input, same plan
            params.max_time_in_seconds = max(0.05, deadline - time.perf_counter())
            if maximise:
                m.maximize(expr)
            else:
                m.minimize(expr)
            status = solver.solve(m)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                all_optimal = False
                break
            all_optimal &= status == cp_model.OPTIMAL
            spare = max(0.0, share - solver.response_proto.deterministic_time)
            value = round(solver.objective_value)
            log.debug(
                "stage %s: %s value %d bound %.0f in %.2f s",
                name,
                solver.status_name(status),
                value,
                solver.best_objective_bound,
                solver.wall_time,
            )
            m.add(expr >= value if maximise else expr <= value)
            values = list(solver.response_proto.solution)
            m.clear_hints()
            m.proto.solution_hint.vars.extend(range(len(values)))
            m.proto.solution_hint.values.extend(values)
        if values is None:
            return None
        return self._extract(values, "OPTIMAL" if all_optimal else "FEASIBLE")

    def _extract(self, values: list[int], status: str) -> TypeSolution:
        p = self.p

        def on(var: cp_model.IntVar) -> bool:
            return values[var.index] == 1

        types = [next(t for t, v in enumerate(row) if on(v)) for row in self.x]
        root_of = list(range(p.n_grids))
        for (g, r), var in self.att.items():
            if on(var):
                root_of[g] = r
        b_to = {g: h for (g, h), var in self.b.items() if on(var)}
        return TypeSolution(self.keys, types, root_of, b_to, status)


def solution_from_assignment(
    p: Problem, a_of: dict[int, int], b_of: dict[int, int], status: str
) -> TypeSolution:
    """The type solution of a concrete assignment (each worker's grids form a unit)."""
    keys, wtype = p.type_keys()
    held: dict[int, list[int]] = defaultdict(list)
    for g in sorted(a_of):
        held[a_of[g]].append(g)
    root_of = [held[a_of[g]][0] for g in range(p.n_grids)]
    b_to = {}
    for g, v in b_of.items():
        heads = [h for h, _ in p.b_arcs(g) if a_of[h] == v]
        b_to[g] = heads[0] if heads else held[v][0]
    return TypeSolution(keys, [wtype[a_of[g]] for g in range(p.n_grids)], root_of, b_to, status)
