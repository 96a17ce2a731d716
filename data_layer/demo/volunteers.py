"""Demo volunteer data: teams and their activities, party members' report-ins (双报到) and
micro-wishes (微心愿), one random stream each, all tied to the city's communities."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from data_layer.demo.draws import cdf_pick
from data_layer.demo.reference import City
from data_layer.demo.timeline import DAY, HOUR, dt_series, epoch, holiday_factor, spring_festival
from data_layer.domain import schema

_TEAM_KINDS = ["party_member", "youth", "elderly", "professional", "women"]
_TEAM_SUFFIX = {
    "party_member": "党员先锋志愿服务队",
    "youth": "青年志愿服务队",
    "elderly": "银龄志愿服务队",
    "professional": "专业志愿服务队",
    "women": "巾帼志愿服务队",
}
_ACTIVITY_KINDS = [
    "cleanup",
    "elderly_care",
    "publicity",
    "patrol",
    "health",
    "legal",
    "education",
    "culture",
]
# P(activity kind | team kind); rows follow _TEAM_KINDS.
_ACT_GIVEN_TEAM = np.array(
    [
        [0.25, 0.15, 0.25, 0.15, 0.05, 0.05, 0.05, 0.05],
        [0.30, 0.10, 0.10, 0.10, 0.00, 0.00, 0.25, 0.15],
        [0.15, 0.30, 0.15, 0.25, 0.00, 0.00, 0.05, 0.10],
        [0.00, 0.10, 0.15, 0.00, 0.40, 0.30, 0.05, 0.00],
        [0.20, 0.25, 0.15, 0.05, 0.05, 0.05, 0.10, 0.15],
    ]
)
_PARTY_UNITS = [
    ("区税务局", 8),
    ("区教育局", 12),
    ("区财政局", 5),
    ("区人民医院", 10),
    ("区人民法院", 6),
    ("区人民检察院", 4),
    ("区发改委", 3),
    ("区自然资源局", 4),
    ("区交通运输局", 4),
    ("区卫健委", 4),
    ("区文旅局", 3),
    ("区统计局", 2),
    ("区审计局", 2),
    ("区融媒体中心", 2),
    ("区委办", 3),
    ("区政府办", 3),
    ("供电公司", 5),
    ("移动公司", 3),
    ("农商银行", 5),
    ("建设银行支行", 4),
]
_CLAIMERS = ["party_member", "enterprise", "volunteer", "social_org"]
_CLAIMER_P = np.array([0.50, 0.20, 0.22, 0.08])


@dataclass
class _Teams:
    frame: pl.DataFrame
    community: np.ndarray  # per team: community index
    kind: np.ndarray  # per team: index into _TEAM_KINDS
    members: np.ndarray


def volunteers(city: City, *, days: list[dt.date], seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``volunteer_teams`` and ``activities`` tables."""
    rng = np.random.default_rng([seed, 4])
    teams = _teams(rng, city=city)
    activities = _activities(rng, city=city, teams=teams, days=days)
    return schema.conform("volunteer_teams", teams.frame), schema.conform("activities", activities)


def _ids(prefix: str, n: int, width: int = 8) -> pl.Series:
    """``prefix`` + 1-based sequence number, zero-padded."""
    return (
        prefix + pl.Series(np.arange(1, n + 1, dtype=np.int64)).cast(pl.String).str.zfill(width)
    ).cast(pl.String)


def _teams(rng: np.random.Generator, *, city: City) -> _Teams:
    """One to three teams per community: a party-member team first, the others of other kinds."""
    comms = city.communities
    nc = comms.height
    n_teams = 1 + (rng.random(nc) < 0.5) + (rng.random(nc) < 0.2)
    t_comm = np.repeat(np.arange(nc), n_teams)
    t_seq = np.arange(t_comm.size) - np.r_[0, np.cumsum(n_teams)[:-1]][t_comm]
    base = rng.integers(0, len(_TEAM_KINDS) - 1, nc)
    kind = np.where(t_seq == 0, 0, 1 + (base[t_comm] + t_seq - 1) % (len(_TEAM_KINDS) - 1))
    members = np.where(
        kind == 0, rng.integers(20, 90, t_comm.size), rng.integers(10, 60, t_comm.size)
    )
    code_list = comms["community_code"].to_list()
    name_list = comms["name"].to_list()
    frame = pl.DataFrame(
        {
            "team_id": [f"{code_list[c]}T{s + 1:02d}" for c, s in zip(t_comm, t_seq, strict=True)],
            "community_code": comms["community_code"].gather(t_comm),
            "name": [
                name_list[c] + _TEAM_SUFFIX[_TEAM_KINDS[k]]
                for c, k in zip(t_comm, kind, strict=True)
            ],
            "kind": np.array(_TEAM_KINDS)[kind],
            "members": members,
        }
    )
    return _Teams(frame=frame, community=t_comm, kind=kind, members=members)


def _activities(
    rng: np.random.Generator, *, city: City, teams: _Teams, days: list[dt.date]
) -> pl.DataFrame:
    """Poisson per team and day with seasonal peaks; weak communities are much less active."""
    t_comm, kind, members = teams.community, teams.kind, teams.members
    nc = city.communities.height
    nd = len(days)
    md = np.array([(d.month, d.day) for d in days])
    day_w = np.ones(nd)
    day_w[md[:, 0] == 3] *= 1.8  # 学雷锋月
    day_w[(md[:, 0] == 6) & (md[:, 1] >= 20) | (md[:, 0] == 7) & (md[:, 1] <= 5)] *= 1.7  # 七一
    day_w[md[:, 0] == 10] *= 1.2  # 重阳
    day_w *= np.array([0.8 if d.weekday() < 5 else 1.6 for d in days])
    day_w *= np.minimum(1.0, holiday_factor(days) * 1.2)
    team_rate = np.where(kind == 0, 3.6, 2.4) / 30.4 * np.where(city.comm_weak[t_comm], 0.35, 1.0)
    team_rate *= rng.lognormal(0.0, 0.3, t_comm.size)
    lam = team_rate[:, None] * day_w[None, :] / day_w.mean()
    counts = rng.poisson(lam)  # (team, day)
    a_team, a_day = np.nonzero(counts)
    reps = counts[a_team, a_day]
    a_team = np.repeat(a_team, reps)
    a_day = np.repeat(a_day, reps)
    order = np.lexsort((a_team, a_day))
    a_team, a_day = a_team[order], a_day[order]
    na = a_team.size
    a_comm = t_comm[a_team]
    part = np.minimum(
        members[a_team], np.maximum(3, np.round(rng.lognormal(math.log(11), 0.45, na)))
    ).astype(np.int64)
    dur = rng.choice(np.array([1.5, 2.0, 2.0, 2.5, 3.0, 3.0, 4.0]), na)
    a_kind = cdf_pick(rng.random(na), _ACT_GIVEN_TEAM, kind[a_team])
    # grid of the community, or community-wide (null)
    gc = city.grid_comm
    g_first = np.searchsorted(gc, np.arange(nc), side="left")
    g_count = np.bincount(gc, minlength=nc)
    a_grid = g_first[a_comm] + (rng.random(na) * g_count[a_comm]).astype(np.int64)
    has_grid = rng.random(na) < 0.7
    return pl.DataFrame(
        {
            "activity_id": _ids("HD", na),
            "team_id": teams.frame["team_id"].gather(a_team),
            "community_code": city.communities["community_code"].gather(a_comm),
            "grid_code": city.grids["grid_code"].gather(a_grid),
            "date": pl.Series(np.datetime64(days[0], "D") + a_day.astype("timedelta64[D]")),
            "hours": part * dur,
            "participants": part,
            "kind": np.array(_ACTIVITY_KINDS)[a_kind],
        }
    ).with_columns(
        pl.when(pl.Series(has_grid)).then(pl.col("grid_code")).otherwise(None).alias("grid_code")
    )


def party_reports(city: City, *, days: list[dt.date], seed: int) -> pl.DataFrame:
    """Members of the district's units report in to communities (about 1.8 per grid, fewer in
    weak communities), most in the campaign at the start of the records and around 七一."""
    rng = np.random.default_rng([seed, 5])
    comms = city.communities
    nc = comms.height
    g_count = np.bincount(city.grid_comm, minlength=nc)
    n_members = rng.poisson(g_count * 1.8 * np.where(city.comm_weak, 0.6, 1.0))
    m_comm = np.repeat(np.arange(nc), n_members)
    nm = m_comm.size
    nd = len(days)
    w = np.ones(nd)
    w[: min(90, nd)] *= 4.0  # the report-in campaign at the start of the records
    md = np.array([(d.month, d.day) for d in days])
    w[(md[:, 0] == 3)] *= 2.0
    w[(md[:, 0] == 6) & (md[:, 1] >= 15) | (md[:, 0] == 7) & (md[:, 1] <= 10)] *= 2.5
    w *= np.array([1.0 if d.weekday() < 5 else 0.3 for d in days]) * holiday_factor(days)
    day = cdf_pick(rng.random(nm), w)
    order = np.lexsort((m_comm, day))
    m_comm, day = m_comm[order], day[order]
    units = np.array([u for u, _ in _PARTY_UNITS], dtype=object)
    u_idx = cdf_pick(rng.random(nm), np.array([w for _, w in _PARTY_UNITS], dtype=float))
    dist = city.street_district[city.comm_street[m_comm]]
    unit_names = units[u_idx]
    if len(city.districts) > 1:
        dnames = np.array([n for _, n in city.districts], dtype=object)
        unit_names = np.array(
            [
                dn + (u[1:] if u.startswith("区") else u)
                for dn, u in zip(dnames[dist], unit_names, strict=True)
            ],
            dtype=object,
        )
    posts = cdf_pick(rng.random(nm), np.array([0.6, 0.3, 0.1])) + 1
    frame = pl.DataFrame(
        {
            "member_id": _ids("DY", nm),
            "unit": list(unit_names),
            "community_code": comms["community_code"].gather(m_comm),
            "reported_on": pl.Series(np.datetime64(days[0], "D") + day.astype("timedelta64[D]")),
            "posts_claimed": posts,
        }
    )
    return schema.conform("party_reports", frame)


def wishes(city: City, *, days: list[dt.date], seed: int, end: int) -> pl.DataFrame:
    """Micro-wishes, more before 春节, 六一 and the school start; claimed and fulfilled later
    (less often in weak communities), null where that is after ``end``."""
    rng = np.random.default_rng([seed, 6])
    comms = city.communities
    nc = comms.height
    nd = len(days)
    g_count = np.bincount(city.grid_comm, minlength=nc)
    n_w = rng.poisson(g_count * 0.86 * nd / 365.0)
    w_comm = np.repeat(np.arange(nc), n_w)
    nw = w_comm.size
    w = np.ones(nd)
    for i, d in enumerate(days):
        for y in (d.year, d.year + 1):
            off = (spring_festival(y) - d).days
            if 0 <= off <= 25:
                w[i] *= 2.5  # 春节送温暖
        if (d.month == 5 and d.day >= 15) or (d.month == 6 and d.day == 1):
            w[i] *= 1.8  # 六一
        if d.month == 8 and d.day >= 15:
            w[i] *= 1.3  # 开学
    day = cdf_pick(rng.random(nw), w)
    starts = np.array([epoch(d) for d in days], dtype=np.int64)
    created = starts[day] + rng.integers(8 * HOUR, 20 * HOUR, nw)
    order = np.lexsort((w_comm, created))
    w_comm, created = w_comm[order], created[order]
    weak = city.comm_weak[w_comm]
    will_claim = rng.random(nw) < np.where(weak, 0.6, 0.82)
    claimed = created + (rng.lognormal(math.log(3.0), 0.9, nw) * DAY).astype(np.int64)
    will_fulfil = will_claim & (rng.random(nw) < np.where(weak, 0.5, 0.64))
    fulfilled = claimed + (rng.lognormal(math.log(9.0), 0.7, nw) * DAY).astype(np.int64)
    c_ok = will_claim & (claimed <= end)
    f_ok = will_fulfil & c_ok & (fulfilled <= end)
    kind = np.array(_CLAIMERS, dtype=object)[cdf_pick(rng.random(nw), _CLAIMER_P)]
    frame = pl.DataFrame(
        {
            "wish_id": _ids("WX", nw),
            "community_code": comms["community_code"].gather(w_comm),
            "created_at": dt_series("created_at", created),
            "claimed_at": dt_series("claimed_at", claimed, c_ok),
            "fulfilled_at": dt_series("fulfilled_at", fulfilled, f_ok),
            "claimer_kind": pl.Series(list(kind), dtype=pl.String),
        }
    ).with_columns(
        pl.when(pl.Series(c_ok)).then(pl.col("claimer_kind")).otherwise(None).alias("claimer_kind")
    )
    return schema.conform("wishes", frame)
