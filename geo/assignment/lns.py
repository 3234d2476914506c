"""Large problems: large-neighbourhood search over the type solution, CP-SAT on each region.

The starting solution (the greedy plan, or the whole-area model's) fixes the *units* (the
grids each worker holds). Then, region after region (a ball of about ``REGION_GRIDS`` grids of
whole units around a seed unit; the units of overloaded workers first), a small CP-SAT model
re-decides the A types of the region's units (the same types, plus those of idle workers) and
the B arcs of every grid in or next to the region. Its objective is the planner's
lexicographic one, as weights that each outweigh the largest possible swing of all lower
levels within the region: coverage > stability > mentoring > mixed gender > balance (the
largest load among the workers the region touches, then their summed load above the floor,
when one of them is above it; loads never rise above the region's current largest, so the
overall largest load never grows). The current solution is a complete hint, so a region never
gets worse. Up to two regions with disjoint footprints are solved at once (CP-SAT releases the
GIL). After a full pass without improvement the regions grow; the search stops at the time
limit or when passes with the largest regions bring nothing. Every solve has a deterministic
time limit, so the result depends on the time limit only when the search hits it.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from geo.assignment.problem import NEW, SENIOR, Problem
from geo.assignment.solver import TypeSolution

log = logging.getLogger(__name__)

REGION_GRIDS = 8
"""Grids per region (whole units, breadth-first around the seed) at first; doubled after a
pass over all units without improvement, up to MAX_REGION_GRIDS."""
MAX_REGION_GRIDS = 64
SCALE = 1000
"""The heaviest grid's load in integer load units."""
REGION_SECONDS = 0.05
"""Deterministic time limit of one region's CP-SAT solve (per REGION_GRIDS grids)."""


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

    def __init__(self, p: Problem, start: TypeSolution, a_of: dict[int, int]) -> None:
        """Start from ``start``; ``a_of`` (its matched workers) tells who keeps which unit."""
        self.p = p
        self.keys, self.wtype = p.type_keys()
        units: dict[int, list[int]] = defaultdict(list)
        for g, r in enumerate(start.root_of):
            units[r].append(g)
        roots = sorted(units)
        self.members = [units[r] for r in roots]
        self.unit_of = [0] * p.n_grids
        for u, grids in enumerate(self.members):
            for g in grids:
                self.unit_of[g] = u
        self.utype = [start.types[r] for r in roots]
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
        for g, h in start.b_to.items():
            self.b_to[g] = h
            self.pointing[h].add(g)
        self.current_in: dict[int, Counter[int]] = defaultdict(Counter)  # unit -> worker -> n
        for g, w in p.cur_a.items():
            self.current_in[self.unit_of[g]][w] += 1
        owner = {self.unit_of[g]: w for g, w in a_of.items()}
        self.claim = {w: u for u, w in owner.items() if self.current_in[u][w]}
        top = max((p.load(g) for g in range(p.n_grids)), default=0.0) or 1.0
        self.la = [round(p.load(g) * SCALE / top) for g in range(p.n_grids)]
        share = p.settings.b_load_share
        self.lb = [round(p.load(g) * SCALE * share / top) for g in range(p.n_grids)]
        self.loads = [self.load_of(u) for u in range(len(self.members))]
        self.floor = max(sum(self.la[g] for g in grids) for grids in self.members)
        self.unit_nbrs = [
            sorted({self.unit_of[h] for g in grids for h in p.neighbours[g]} - {u})
            for u, grids in enumerate(self.members)
        ]

    # ------------------------------------------------------------------ search
    def run(self, deadline: float, threads: int = 2) -> TypeSolution:
        """Improve region by region until ``deadline`` or a pass without improvement; up to
        ``threads`` regions with disjoint footprints are solved at once."""
        rng = random.Random(self.p.settings.seed)
        order = list(range(len(self.members)))
        size = REGION_GRIDS
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            while time.perf_counter() < deadline:
                rng.shuffle(order)
                covered: set[int] = set()
                over = [u for u in order if self.loads[u] > self.floor]
                queue = sorted(over, key=lambda u: (-self.loads[u], u)) + order
                improved, i = False, 0
                while i < len(queue) and time.perf_counter() < deadline - 0.01:
                    batch: list[_Region] = []
                    used: set[int] = set()
                    while i < len(queue) and len(batch) < max(1, threads):
                        if queue[i] in covered:
                            i += 1
                            continue
                        region = self._region(queue[i], size)
                        sub = _Region(self, region, shared_idle=not batch)
                        if sub.footprint & used:
                            break  # solved in the next batch, on the then current state
                        i += 1
                        covered.update(region)
                        used |= sub.footprint
                        batch.append(sub)
                    wall = deadline - time.perf_counter()
                    jobs = [pool.submit(sub.solve, size, wall) for sub in batch]
                    for sub, job in zip(batch, jobs, strict=True):
                        values = job.result()
                        if values is not None:
                            sub.apply(values)
                            improved = True
                if not improved:  # a local optimum: widen the regions, or stop
                    if size >= min(MAX_REGION_GRIDS, self.p.n_grids):
                        break
                    size *= 2
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
        """Load of the worker of unit ``u`` in integer units."""
        grids = self.members[u]
        return sum(self.la[h] + sum(self.lb[g] for g in self.pointing[h]) for h in grids)

    def _region(self, seed: int, grids: int) -> list[int]:
        """Units breadth-first from ``seed`` until they hold ``grids`` grids."""
        region, todo, size = [seed], [seed], len(self.members[seed])
        seen = {seed}
        while todo and size < grids:
            u = todo.pop(0)
            for v in self.unit_nbrs[u]:
                if v not in seen and size < grids:
                    seen.add(v)
                    region.append(v)
                    todo.append(v)
                    size += len(self.members[v])
        return region


class _Region:
    """The CP-SAT model of one region, hinted with the current solution."""

    def __init__(self, s: Search, region: list[int], shared_idle: bool = True) -> None:
        self.s, self.m, self.region = s, cp_model.CpModel(), region
        self.idle = s.idle if shared_idle else [0] * len(s.keys)
        self.free = set(region)
        grids = [g for u in region for g in s.members[u]]
        self.pick = sorted(set(grids) | {g for h in grids for g in s.into[h]})
        self.cover, self.stable, self.mentor, self.mixed = _Terms(), _Terms(), _Terms(), _Terms()
        self.groups: dict[tuple[int, str], list[cp_model.IntVar]] = defaultdict(list)
        self.taken: dict[tuple[int, str], list[cp_model.IntVar]] = defaultdict(list)
        self.given: dict[tuple[int, str], list[cp_model.IntVar]] = defaultdict(list)
        self.excess: dict[int, cp_model.IntVar] = {}
        self._cache: dict[tuple[int, int, str], tuple[cp_model.LinearExprT, int]] = {}
        self._hinted: set[int] = set()
        self._types()
        self._arcs()
        self._loads()
        self._stability()
        self._cuts()
        pointers = {s.unit_of[g] for v in self.touched for h in s.members[v] for g in s.pointing[h]}
        self.footprint = self.touched | {s.unit_of[g] for g in self.pick} | pointers

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
            m.add(sum(self.x[u][t] for u in self.region) <= self.before[t] + self.idle[t])

    def _has(self, g: int, by: int, value: str) -> tuple[cp_model.LinearExprT, int]:
        """(expression, current value): 1 when component ``by`` (0 gender, 1 experience class)
        of the A type of ``g`` is ``value``; the expression is an int outside the region."""
        key = (g, by, value)
        if key not in self._cache:
            s = self.s
            u = s.unit_of[g]
            now = int(s.keys[s.utype[u]][by] == value)
            expr = now
            if u in self.free:
                expr = sum(v for t, v in enumerate(self.x[u]) if s.keys[t][by] == value)
            self._cache[key] = (expr, now)
        return self._cache[key]

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
                self._hinted.add(var.index)
                if pen:  # outweighs any change of B overloads in the region
                    weight = pen * (len(self.pick) + 1)
                    self.cover.add(weight, var, weight * on)
                self._pair(g, h, var, on, genders)
            m.add_exactly_one(self.b[g, h] for h, _ in s.arcs[g])

    def _pair(self, g: int, h: int, b: cp_model.IntVar, on: int, genders: list[str]) -> None:
        """Mixed-gender and mentoring terms of the arc g -> h (constants times ``b`` when both
        types are fixed)."""
        fixed = self.s.unit_of[g] not in self.free and self.s.unit_of[h] not in self.free
        if len(genders) > 1:
            differ = any(self._has(g, 0, q)[1] != self._has(h, 0, q)[1] for q in genders)
            if fixed:
                self._term(self.mixed, g, "mixed", int(differ), b, on * differ)
            else:
                mixed = self.m.new_bool_var("")
                self.m.add(mixed <= b)
                for q in genders:
                    self.m.add(self._has(g, 0, q)[0] + self._has(h, 0, q)[0] <= 2 - mixed)
                self._term(self.mixed, g, "mixed", 1, mixed, on * differ)
        for mine, theirs in ((NEW, SENIOR), (SENIOR, NEW)):
            ours, ours_now = self._has(g, 1, mine)
            other, other_now = self._has(h, 1, theirs)
            now = on * ours_now * other_now
            if fixed:
                if ours_now and other_now:
                    self._term(self.mentor, g, "mentor", 1, b, now)
                continue
            if isinstance(ours, int) and isinstance(other, int) and not (ours and other):
                continue
            mt = self.m.new_bool_var("")
            self.m.add(mt <= b)
            self.m.add(mt <= ours)
            self.m.add(mt <= other)
            self._term(self.mentor, g, "mentor", 1, mt, now)
            self.taken[g, mine].append(mt)
            self.given[h, theirs].append(mt)

    def _term(
        self, terms: _Terms, g: int, kind: str, coef: int, var: cp_model.IntVar, now: int
    ) -> None:
        if coef:
            if var.index not in self._hinted:
                self.m.add_hint(var, now)
                self._hinted.add(var.index)
            terms.add(coef, var, now)
            self.groups[g, kind].append(var)

    def _loads(self) -> None:
        s, m = self.s, self.m
        self.touched = touched = set(self.region) | {
            s.unit_of[h] for g in self.pick for h, _ in s.arcs[g]
        }
        picked = set(self.pick)
        cap = s.p.cap_b
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
        self.overload = _Terms()  # load above the floor, summed: progress below the maximum
        for expr, now in zip(loads, hints, strict=True):
            m.add(self.max_load >= expr)
            if self.top > s.floor:
                over = m.new_int_var(0, self.top - s.floor, "")
                m.add(over >= expr - s.floor)
                m.add_hint(over, max(0, now - s.floor))
                self.overload.add(1, over, max(0, now - s.floor))

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
            m.add(sum(group) <= self._has(g, 1, cls)[0])
        cap = s.p.cap_b
        for (h, cls), group in self.given.items():
            slack = self.excess.get(s.unit_of[h], 0)
            m.add(sum(group) <= min(cap, len(group)) * self._has(h, 1, cls)[0] + slack)

    def weighted(self, balance: bool) -> tuple[cp_model.LinearExprT, int]:
        """The objective (minimised) and its value at the hint: every level outweighs the
        largest possible swing of all levels below it. Without ``balance`` the loads only keep
        under the region's current largest load."""
        below, objective, hint = 0, 0, 0
        if balance:  # the largest load first, then the sum of loads above the floor
            weight = self.overload.span() + 1
            objective = weight * self.max_load + self.overload.expr()
            hint = weight * self.top + self.overload.hint()
            below = weight * self.top + self.overload.span()
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

    def solve(self, size: int, wall: float) -> list[int] | None:
        """Solve (thread-safe: touches only this model); the values of a better solution.

        Loads are balanced (the largest one minimised, then the sum of loads above the floor)
        when the region touches a worker whose load exceeds ``Search.floor``, the largest A
        load of any worker (a lower bound of the plan's largest load); elsewhere they only keep
        under the region's current largest load."""
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = 1
        params.random_seed = self.s.p.settings.seed
        params.linearization_level = 2
        # deterministic limits: same input, same search
        params.max_deterministic_time = REGION_SECONDS * size / REGION_GRIDS
        params.max_time_in_seconds = max(0.01, wall)
        objective, hint = self.weighted(balance=self.top > self.s.floor)
        self.m.minimize(objective)
        status = solver.solve(self.m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        log.debug(
            "region %d: %s %.0f (hint %d, bound %.0f) %.3f s",
            len(self.region),
            solver.status_name(status),
            solver.objective_value,
            hint,
            solver.best_objective_bound,
            solver.wall_time,
        )
        if round(solver.objective_value) >= hint:
            return None
        return list(solver.response_proto.solution)

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
        for v in self.touched:
            s.loads[v] = s.load_of(v)
