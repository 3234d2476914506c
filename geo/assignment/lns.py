"""Large problems: large-neighbourhood search over the type solution, CP-SAT on each region.

The greedy plan fixes the *units* (the grids each worker holds). Then, region after region (a
ball of about ``REGION_GRIDS`` grids of whole units around a seed unit), a small CP-SAT model
re-decides the A types of the region's units (the same types, plus those of idle workers) and
the B arcs of every grid in or next to the region. Its objective is the planner's lexicographic
one, as weights that are lexicographic within a region: coverage > stability > mentoring >
mixed gender > the largest load among the workers the region touches (so the overall largest
load never grows). The current solution is a complete hint, so a region never gets worse. The
search stops at the time limit or after a full pass over the units without improvement.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from geo.assignment.problem import NEW, SENIOR, Problem
from geo.assignment.solver import TypeSolution

log = logging.getLogger(__name__)

REGION_GRIDS = 48
"""Grids per region (whole units, breadth-first around the seed)."""
SCALE = 1000
"""The heaviest grid's load in integer load units."""
REGION_SECONDS = 0.25
LINEARIZATION = 2


@dataclass
class _Terms:
    """Objective terms of one level with their values in the current solution (the hint)."""

    items: list[tuple[int, cp_model.LinearExprT, int]] = field(default_factory=list)

    def add(self, coef: int, var: cp_model.LinearExprT, hint: int) -> None:
        self.items.append((coef, var, hint))

    def expr(self) -> cp_model.LinearExprT:
        return sum(c * v for c, v, _ in self.items)

    def hint(self) -> int:
        return sum(c * h for c, _, h in self.items)

    def span(self) -> int:
        return sum(abs(c) for c, _, _ in self.items)


class Search:
    """The LNS state: units, their types, B arcs, idle workers per type, stability claims."""

    def __init__(self, p: Problem, a_of: dict[int, int], b_of: dict[int, int]) -> None:
        self.p = p
        self.keys, self.wtype = p.type_keys()
        held: dict[int, list[int]] = defaultdict(list)
        for g in sorted(a_of):
            held[a_of[g]].append(g)
        owners = sorted(held)
        self.members = [held[w] for w in owners]
        self.unit_of = [0] * p.n_grids
        for u, grids in enumerate(self.members):
            for g in grids:
                self.unit_of[g] = u
        self.utype = [self.wtype[w] for w in owners]
        total, used = Counter(self.wtype), Counter(self.utype)
        self.idle = [total[t] - used[t] for t in range(len(self.keys))]
        self.arcs = [
            [(h, pen) for h, pen in p.b_arcs(g) if self.unit_of[h] != self.unit_of[g]]
            for g in range(p.n_grids)
        ]
        self.into: dict[int, list[int]] = defaultdict(list)
        for g, arcs in enumerate(self.arcs):
            for h, _ in arcs:
                self.into[h].append(g)
        self.b_to = [-1] * p.n_grids
        self.pointing: dict[int, set[int]] = defaultdict(set)
        for g, v in b_of.items():
            h = next((h for h, _ in self.arcs[g] if a_of[h] == v), -1)
            self.b_to[g] = h
            self.pointing[h].add(g)
        self.current_in: dict[int, Counter[int]] = defaultdict(Counter)  # unit -> worker -> n
        for g, w in p.cur_a.items():
            self.current_in[self.unit_of[g]][w] += 1
        self.claim = {w: u for u, w in enumerate(owners) if self.current_in[u][w]}
        top = max((p.load(g) for g in range(p.n_grids)), default=0.0) or 1.0
        self.la = [round(p.load(g) * SCALE / top) for g in range(p.n_grids)]
        share = p.settings.b_load_share
        self.lb = [round(p.load(g) * SCALE * share / top) for g in range(p.n_grids)]
        self.unit_nbrs = [
            sorted({self.unit_of[h] for g in grids for h in p.neighbours[g]} - {u})
            for u, grids in enumerate(self.members)
        ]

    # ------------------------------------------------------------------ search
    def run(self, deadline: float) -> TypeSolution:
        """Improve region by region until ``deadline`` or a pass without improvement."""
        rng = random.Random(self.p.settings.seed)
        order = list(range(len(self.members)))
        while time.perf_counter() < deadline:
            rng.shuffle(order)
            covered: set[int] = set()
            improved = False
            for seed in [self._heaviest(), *order]:
                if seed in covered:
                    continue
                left = deadline - time.perf_counter()
                if left <= 0.01:
                    break
                region = self._region(seed)
                covered.update(region)
                improved |= self._improve(region, min(left, REGION_SECONDS))
            if not improved:
                break
        return self.solution()

    def solution(self) -> TypeSolution:
        p = self.p
        return TypeSolution(
            type_keys=self.keys,
            types=[self.utype[self.unit_of[g]] for g in range(p.n_grids)],
            root_of=[self.members[self.unit_of[g]][0] for g in range(p.n_grids)],
            b_to={g: h for g, h in enumerate(self.b_to) if h >= 0},
            status="FEASIBLE",
        )

    def load_of(self, u: int) -> int:
        grids = self.members[u]
        return sum(self.la[h] + sum(self.lb[g] for g in self.pointing[h]) for h in grids)

    def _heaviest(self) -> int:
        return max(range(len(self.members)), key=lambda u: (self.load_of(u), -u))

    def _region(self, seed: int) -> list[int]:
        region, todo, size = [seed], [seed], len(self.members[seed])
        seen = {seed}
        while todo and size < REGION_GRIDS:
            u = todo.pop(0)
            for v in self.unit_nbrs[u]:
                if v not in seen and size < REGION_GRIDS:
                    seen.add(v)
                    region.append(v)
                    todo.append(v)
                    size += len(self.members[v])
        return region

    # ------------------------------------------------------------------ one region
    def _improve(self, region: list[int], seconds: float) -> bool:
        """Re-solve ``region``; apply the result; True when it is better."""
        sub = _Region(self, region)
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = 1
        params.random_seed = self.p.settings.seed
        params.linearization_level = LINEARIZATION
        params.max_time_in_seconds = seconds
        objective, hint = sub.weighted()
        sub.m.minimize(objective)
        status = solver.solve(sub.m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        log.debug(
            "region %d: %s %.0f (hint %d, bound %.0f) %.3f s",
            len(region),
            solver.status_name(status),
            solver.objective_value,
            hint,
            solver.best_objective_bound,
            solver.wall_time,
        )
        if round(solver.objective_value) >= hint:
            return False
        sub.apply(list(solver.response_proto.solution))
        return True


class _Region:
    """The CP-SAT model of one region, hinted with the current solution."""

    def __init__(self, s: Search, region: list[int]) -> None:
        self.s, self.m, self.region = s, cp_model.CpModel(), region
        self.free = set(region)
        grids = [g for u in region for g in s.members[u]]
        self.pick = sorted(set(grids) | {g for h in grids for g in s.into[h]})
        self.cover, self.stable, self.mentor, self.mixed = _Terms(), _Terms(), _Terms(), _Terms()
        self.groups: dict[tuple[int, str], list[cp_model.IntVar]] = defaultdict(list)
        self.taken: dict[tuple[int, str], list[cp_model.IntVar]] = defaultdict(list)
        self.given: dict[tuple[int, str], list[cp_model.IntVar]] = defaultdict(list)
        self.excess: dict[int, cp_model.IntVar] = {}
        self._types()
        self._arcs()
        self._loads()
        self._stability()
        self._cuts()

    def _types(self) -> None:
        s, m = self.s, self.m
        n = len(s.keys)
        self.x = {u: [m.new_bool_var(f"x{u}_{t}") for t in range(n)] for u in self.region}
        self.before = Counter(s.utype[u] for u in self.region)
        for u, row in self.x.items():
            m.add_exactly_one(row)
            for t, var in enumerate(row):
                m.add_hint(var, s.utype[u] == t)
        for t in range(n):
            m.add(sum(self.x[u][t] for u in self.region) <= self.before[t] + s.idle[t])

    def _has(self, g: int, by: int, values: set[str]) -> tuple[cp_model.LinearExprT, int]:
        """(expression, current value): 1 when the A type of ``g`` has key[by] in ``values``."""
        s = self.s
        u = s.unit_of[g]
        now = int(s.keys[s.utype[u]][by] in values)
        if u not in self.free:
            return now, now
        return sum(v for t, v in enumerate(self.x[u]) if s.keys[t][by] in values), now

    def _arcs(self) -> None:
        s, m = self.s, self.m
        genders = sorted({k[0] for k in s.keys})
        self.b: dict[tuple[int, int], cp_model.IntVar] = {}
        for g in self.pick:
            if not s.arcs[g]:
                continue
            for h, pen in s.arcs[g]:
                var = self.b[g, h] = m.new_bool_var(f"b{g}_{h}")
                on = int(s.b_to[g] == h)
                m.add_hint(var, on)
                if pen:
                    self.cover.add(pen, var, pen * on)
                self._pair(g, h, var, on, genders)
            m.add_exactly_one(self.b[g, h] for h, _ in s.arcs[g])

    def _pair(self, g: int, h: int, b: cp_model.IntVar, on: int, genders: list[str]) -> None:
        m = self.m
        mixed = self.m.new_bool_var("") if len(genders) > 1 else None
        differ = 0
        for q in genders:
            (fg, fg_now), (fh, fh_now) = self._has(g, 0, {q}), self._has(h, 0, {q})
            differ |= fg_now != fh_now
            if mixed is not None:
                m.add(fg + fh <= 2 - mixed)
        if mixed is not None:
            m.add(mixed <= b)
            self.groups[g, "mixed"].append(mixed)
            self.mixed.add(1, mixed, on * differ)
            m.add_hint(mixed, on * differ)
        for mine, theirs in ((NEW, SENIOR), (SENIOR, NEW)):
            ours, ours_now = self._has(g, 1, {mine})
            other, other_now = self._has(h, 1, {theirs})
            if isinstance(ours, int) and isinstance(other, int) and not (ours and other):
                continue
            mt = m.new_bool_var("")
            m.add(mt <= b)
            m.add(mt <= ours)
            m.add(mt <= other)
            now = on * ours_now * other_now
            m.add_hint(mt, now)
            self.mentor.add(1, mt, now)
            self.groups[g, "mentor"].append(mt)
            self.taken[g, mine].append(mt)
            self.given[h, theirs].append(mt)

    def _loads(self) -> None:
        s, m = self.s, self.m
        touched = set(self.region) | {s.unit_of[h] for g in self.pick for h, _ in s.arcs[g]}
        picked = set(self.pick)
        cap = s.p.settings.max_b_roles
        loads, hints = [], []
        for v in sorted(touched):
            base, fixed_count, var_load, var_count, now_load, now_count = 0, 0, [], [], 0, 0
            for h in s.members[v]:
                base += s.la[h]
                for g in s.pointing[h]:
                    now_load += s.lb[g]
                    now_count += 1
                    if g not in picked:
                        base += s.lb[g]
                        fixed_count += 1
                for g in s.into[h]:
                    if g in picked:
                        var_load.append((s.lb[g], self.b[g, h]))
                        var_count.append(self.b[g, h])
            loads.append(base + sum(c * var for c, var in var_load))
            hints.append(s.load_of(v))
            reach = fixed_count + len(var_count)
            if reach > cap:
                excess = self.excess[v] = m.new_int_var(0, reach - cap, f"excess{v}")
                m.add(excess >= fixed_count + sum(var_count) - cap)
                now = max(0, now_count - cap)
                m.add_hint(excess, now)
                self.cover.add(1, excess, now)
        self.top = max(hints, default=0)
        self.max_load = m.new_int_var(0, self.top, "max_load")
        m.add_hint(self.max_load, self.top)
        for expr in loads:
            m.add(self.max_load >= expr)

    def _stability(self) -> None:
        s, m = self.s, self.m
        self.keep: dict[tuple[int, int], cp_model.IntVar] = {}
        by_worker: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for u in self.region:
            unit_keeps = []
            for w, n in sorted(s.current_in[u].items()):
                var = self.keep[u, w] = m.new_bool_var(f"k{u}_{w}")
                m.add(var <= self.x[u][s.wtype[w]])
                now = int(s.claim.get(w) == u)
                m.add_hint(var, now)
                self.stable.add(n, var, n * now)
                by_worker[w].append(var)
                unit_keeps.append(var)
            m.add_at_most_one(unit_keeps)
        for w, vars_ in by_worker.items():
            elsewhere = s.claim.get(w) is not None and s.claim[w] not in self.free
            m.add(sum(vars_) <= 1 - int(elsewhere))
        for g in self.pick:
            w = s.p.cur_b.get(g)
            if w is None:
                continue
            for h, _ in s.arcs[g]:
                v = s.unit_of[h]
                on = int(s.b_to[g] == h and s.claim.get(w) == v)
                if v in self.free:
                    if (v, w) in self.keep:
                        kb = m.new_bool_var("")
                        m.add(kb <= self.b[g, h])
                        m.add(kb <= self.keep[v, w])
                        m.add_hint(kb, on)
                        self.stable.add(1, kb, on)
                elif s.claim.get(w) == v:
                    self.stable.add(1, self.b[g, h], on)

    def _cuts(self) -> None:
        """Aggregated constraints, implied for integers, that tighten the LP relaxation."""
        m, s = self.m, self.s
        for group in self.groups.values():
            m.add(sum(group) <= 1)
        for (g, cls), group in self.taken.items():
            m.add(sum(group) <= self._has(g, 1, {cls})[0])
        cap = s.p.settings.max_b_roles
        for (h, cls), group in self.given.items():
            slack = self.excess.get(s.unit_of[h], 0)
            m.add(sum(group) <= min(cap, len(group)) * self._has(h, 1, {cls})[0] + slack)

    def weighted(self) -> tuple[cp_model.LinearExprT, int]:
        """The objective (minimised) and its value at the hint: every level outweighs the
        largest possible swing of all levels below it."""
        below, objective, hint = self.top, self.max_load, self.top
        for terms, maximise in reversed(self.levels()[:-1]):
            sign = -1 if maximise else 1
            weight = below + 1
            objective += sign * weight * terms.expr()
            hint += sign * weight * terms.hint()
            below += weight * terms.span()
        return objective, hint

    def levels(self) -> list[tuple[_Terms, bool]]:
        """(terms, maximise) from the first to the last level of the objective."""
        balance = _Terms([(1, self.max_load, self.top)])
        levels = [(self.cover, False), (self.stable, True), (self.mentor, True)]
        levels += [(self.mixed, True), (balance, False)]
        return [(terms, maximise) for terms, maximise in levels if terms.items]

    def apply(self, values: list[int]) -> None:
        """Write a solution of the region (values by variable index) into the search state."""
        s = self.s

        def on(var: cp_model.IntVar) -> bool:
            return values[var.index] == 1

        for u, row in self.x.items():
            s.utype[u] = next(t for t, var in enumerate(row) if on(var))
        after = Counter(s.utype[u] for u in self.region)
        for t in range(len(s.keys)):
            s.idle[t] += self.before[t] - after[t]
        for g in self.pick:
            for h, _ in s.arcs[g]:
                if on(self.b[g, h]) and s.b_to[g] != h:
                    s.pointing[s.b_to[g]].discard(g)
                    s.pointing[h].add(g)
                    s.b_to[g] = h
        for w in {w for _, w in self.keep}:
            if s.claim.get(w) in self.free:
                del s.claim[w]
        for (u, w), var in self.keep.items():
            if on(var):
                s.claim[w] = u
