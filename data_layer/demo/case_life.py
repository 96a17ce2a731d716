"""The life cycle of demo cases: 上报 → 立案 → 派遣 → 处置 (with rework) → 核查 → 结案, and
what of it is known at the end of the anchor day.

Times are seconds (see ``timeline``); one entry per case in every array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from data_layer.demo.case_model import HANDLE_F, POSTPONE_P, REJECT_P
from data_layer.demo.draws import cdf_pick
from data_layer.demo.reference import City
from data_layer.demo.timeline import DAY, HOUR, daytime
from data_layer.demo.units import UNIT_GIVEN_CAT


@dataclass
class Life:
    """Every stage time of each case as it will happen, seconds (before the anchor cut)."""

    reported: np.ndarray
    registered: np.ndarray
    rejected: np.ndarray
    unit: np.ndarray
    weak_c: np.ndarray  # in a weak community
    weak_u: np.ndarray  # with a weak handling unit
    dispatched: np.ndarray
    postponed: np.ndarray
    due: np.ndarray
    handled: list[np.ndarray]  # first handling, after the first rework, after the second
    n_rework: np.ndarray
    verified: np.ndarray
    closed: np.ndarray
    stuck: np.ndarray  # never closed
    stuck_handled: np.ndarray  # stuck after a handling was reported


@dataclass
class Seen:
    """What of each life is known at the end of the anchor day."""

    reg_ok: np.ndarray
    live: np.ndarray  # registered and not rejected
    disp_ok: np.ndarray
    handled: np.ndarray  # the last handling time that is known
    handled_ok: np.ndarray
    rework: np.ndarray
    ver_ok: np.ndarray
    closed_ok: np.ndarray


def life_cycle(
    city: City,
    rng: np.random.Generator,
    *,
    g: np.ndarray,
    cat: np.ndarray,
    src: np.ndarray,
    reported: np.ndarray,
    sla: np.ndarray,
) -> Life:
    """上报 → 立案 → 派遣 → 处置 (with rework) → 核查 → 结案, slower in weak communities and
    with weak units; a few cases get stuck and are never closed."""
    n = g.size
    comm = city.grid_comm[g]
    street = city.comm_street[comm]
    weak_c = city.comm_weak[comm]
    registered, rejected = _registration(rng, reported=reported, src=src)
    unit = _handling_unit(city, rng, cat=cat, street=street)
    weak_u = city.units.weak[unit]
    dispatched = _dispatch(rng, registered=registered, weak_c=weak_c, weak_u=weak_u)
    # deadline: postponed cases get 7, 10 or 15 more days
    postponed = ~rejected & (rng.random(n) < POSTPONE_P[cat])
    ext = rng.choice(np.array([7, 10, 15]), n) * DAY
    due = registered + sla + np.where(postponed, ext, 0)
    factor = city.units.factor[unit] * city.comm_factor[comm]
    v_mean = np.minimum(6 * HOUR, 0.08 * sla)  # mean wait for verification
    handled, n_rework = _handling(
        rng,
        dispatched=dispatched,
        cat=cat,
        postponed=postponed,
        sla=sla,
        factor=factor,
        v_mean=v_mean,
        weak=(weak_c, weak_u),
    )
    verified = daytime(
        handled[2] + rng.exponential(v_mean).astype(np.int64) + 600, 8 * HOUR, 21 * HOUR, rng
    )
    verified = np.maximum(verified, handled[2] + 600)
    closed = verified + (rng.exponential(1.0, n) * HOUR).astype(np.int64) + 120
    closed = np.maximum(daytime(closed, 8 * HOUR, 21 * HOUR, rng), verified + 120)
    p_stuck = (0.001 + 0.015 * weak_c + 0.015 * weak_u) * np.where(cat == 0, 2.0, 1.0)
    stuck = rng.random(n) < p_stuck
    stuck_handled = stuck & (rng.random(n) < 0.5)
    return Life(
        reported=reported,
        registered=registered,
        rejected=rejected,
        unit=unit,
        weak_c=weak_c,
        weak_u=weak_u,
        dispatched=dispatched,
        postponed=postponed,
        due=due,
        handled=handled,
        n_rework=n_rework,
        verified=verified,
        closed=closed,
        stuck=stuck,
        stuck_handled=stuck_handled,
    )


def _registration(
    rng: np.random.Generator, *, reported: np.ndarray, src: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Registration time in office hours, and rejection (rejected cases are still registered:
    the decision time)."""
    n = reported.size
    reg_median = np.array([20.0, 90.0, 60.0, 120.0, 45.0])[src] * 60.0
    registered = reported + (reg_median * rng.lognormal(0.0, 0.8, n)).astype(np.int64)
    registered = np.maximum(daytime(registered, 7 * HOUR + 1800, 22 * HOUR, rng), reported + 60)
    rejected = rng.random(n) < REJECT_P[src]
    return registered, rejected


def _handling_unit(
    city: City, rng: np.random.Generator, *, cat: np.ndarray, street: np.ndarray
) -> np.ndarray:
    """A unit type by category, then that type's unit of the case's district or street."""
    units = city.units
    dist = city.street_district[street]
    ut = cdf_pick(rng.random(cat.size), UNIT_GIVEN_CAT, cat)
    return np.where(
        units.lookup_d[dist, ut] >= 0,
        units.lookup_d[dist, ut],
        units.lookup_s[street, ut],
    )


def _dispatch(
    rng: np.random.Generator,
    *,
    registered: np.ndarray,
    weak_c: np.ndarray,
    weak_u: np.ndarray,
) -> np.ndarray:
    """Mostly within the hour; some after hours of waiting, a few (more when weak) days late."""
    n = registered.size
    r = rng.random(n)
    p_late = 0.03 + 0.16 * weak_c + 0.03 * weak_u
    p_mid = 0.12
    delay = np.where(
        r < p_late,
        rng.uniform(24, 80, n) * HOUR,
        np.where(r < p_late + p_mid, rng.uniform(3, 16, n) * HOUR, rng.exponential(1.0, n) * HOUR),
    ).astype(np.int64)
    return np.maximum(daytime(registered + delay, 7 * HOUR + 1800, 22 * HOUR, rng), registered + 60)


def _handling(
    rng: np.random.Generator,
    *,
    dispatched: np.ndarray,
    cat: np.ndarray,
    postponed: np.ndarray,
    sla: np.ndarray,
    factor: np.ndarray,
    v_mean: np.ndarray,
    weak: tuple[np.ndarray, np.ndarray],
) -> tuple[list[np.ndarray], np.ndarray]:
    """The handling time, and up to two reworks: verification fails and the unit handles the
    case again. Returns the times after 0, 1 and 2 reworks, and each case's rework count."""
    n = dispatched.size
    weak_c, weak_u = weak
    f = HANDLE_F[cat] * rng.lognormal(0.0, 0.5, n) * factor
    f = np.where(postponed, rng.uniform(1.05, 1.8, n), f)
    handled1 = dispatched + (f * sla).astype(np.int64)
    handled1 = np.maximum(daytime(handled1, 7 * HOUR, 22 * HOUR, rng), dispatched + 300)
    p_rework = 0.035 + 0.05 * weak_c + 0.04 * weak_u
    n_rework = (rng.random(n) < p_rework).astype(np.int64)
    n_rework += (n_rework > 0) & (rng.random(n) < 0.15)
    handled = [handled1]
    for k in range(2):
        fail = daytime(
            handled[-1] + rng.exponential(v_mean).astype(np.int64) + 600, 8 * HOUR, 21 * HOUR, rng
        )
        again = fail + (rng.lognormal(math.log(0.2), 0.5, n) * sla * factor).astype(np.int64)
        again = np.maximum(daytime(again, 7 * HOUR, 22 * HOUR, rng), fail + 600)
        handled.append(np.where(n_rework > k, again, handled[-1]))
    return handled, n_rework


def seen_at(life: Life, *, end: int) -> Seen:
    """Cut every life at ``end``: later stages are unknown; stuck cases stop after handling."""
    handled, stuck = life.handled, life.stuck
    reg_ok = life.registered <= end
    live = reg_ok & ~life.rejected
    disp_ok = live & (life.dispatched <= end)
    h_ok = [disp_ok & (h <= end) for h in handled]
    handled_vis = np.where(h_ok[2], handled[2], np.where(h_ok[1], handled[1], handled[0]))
    handled_vis = np.where(stuck, handled[0], handled_vis)
    handled_ok = h_ok[0] & (~stuck | life.stuck_handled)
    n_rework = life.n_rework
    rework = np.where(
        stuck, 0, (h_ok[1] & (n_rework >= 1)).astype(np.int64) + (h_ok[2] & (n_rework >= 2))
    )
    ver_ok = disp_ok & ~stuck & h_ok[2] & (life.verified <= end)
    closed_ok = ver_ok & (life.closed <= end)
    return Seen(
        reg_ok=reg_ok,
        live=live,
        disp_ok=disp_ok,
        handled=handled_vis,
        handled_ok=handled_ok,
        rework=rework,
        ver_ok=ver_ok,
        closed_ok=closed_ok,
    )


def updated_at(life: Life, seen: Seen) -> np.ndarray:
    """The latest known event time of each case."""
    events = [
        life.reported,
        np.where(seen.reg_ok, life.registered, 0),
        np.where(seen.disp_ok, life.dispatched, 0),
        np.where(seen.handled_ok, seen.handled, 0),
        np.where(seen.ver_ok, life.verified, 0),
        np.where(seen.closed_ok, life.closed, 0),
    ]
    return np.maximum.reduce(events)


def satisfaction(
    rng: np.random.Generator, *, life: Life, seen: Seen, src: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rating index into schema.SATISFACTION (lower when late, weak or reworked), and whether a
    closed case was rated at all."""
    n = src.size
    weak_c, weak_u = life.weak_c, life.weak_u
    late = life.closed > life.due
    p_sat = np.where(late, 0.72, 0.925) - 0.10 * weak_c - 0.06 * weak_u - 0.12 * (life.n_rework > 0)
    p_basic = np.where(late, 0.17, 0.055) + 0.05 * weak_c
    us = rng.random(n)
    sat_idx = np.where(us < p_sat, 0, np.where(us < p_sat + p_basic, 1, 2))
    rated = seen.closed_ok & (rng.random(n) < np.where(src == 1, 0.92, 0.78) - 0.08 * weak_c)
    return sat_idx, rated
