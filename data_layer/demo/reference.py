"""The demo city's reference tables — streets, communities, grids, compounds — and the
per-area figures the case generator draws from (weak areas, handling speed, case volume)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
import shapely

from data_layer.demo.draws import cdf_pick
from data_layer.demo.geometry import Partition, partition
from data_layer.demo.names import (
    COMMUNITY_SUFFIX,
    COMPOUND_SUFFIX,
    FACILITIES,
    district_codes,
    names_pool,
    person_names,
    phones,
    place_words,
)
from data_layer.demo.scales import Spec
from data_layer.demo.units import HandlingUnits, build_units
from data_layer.domain import schema


@dataclass
class City:
    districts: list[tuple[str, str]]  # (code, name)
    streets: pl.DataFrame
    communities: pl.DataFrame
    grids: pl.DataFrame
    compounds: pl.DataFrame
    grid_geoms: np.ndarray  # lon/lat shapely polygons, aligned with grids
    # index arrays
    street_district: np.ndarray
    comm_street: np.ndarray
    grid_comm: np.ndarray
    comm_weak: np.ndarray  # bool
    comm_factor: np.ndarray  # handling-time multiplier
    grid_weight: np.ndarray  # case-volume weight
    grid_worker_name: pl.Series
    grid_worker_phone: pl.Series
    grid_place_kind: np.ndarray  # 0 basic (compounds), 1 dedicated (facility)
    grid_facility: pl.Series  # facility name (dedicated) or "" (basic)
    grid_road: pl.Series
    compound_offset: np.ndarray  # per grid: first compound row
    compound_count: np.ndarray
    units: HandlingUnits


@dataclass
class _Codes:
    street_codes: list[str]
    street_names: list[str]
    comm_codes: list[str]
    comm_names: list[str]
    grid_codes: list[str]


@dataclass
class _GridAttributes:
    dedicated: np.ndarray  # bool; the others are basic grids
    households: np.ndarray
    population: np.ndarray
    comm_weak: np.ndarray  # per community, bool
    full_time: np.ndarray
    part_time: np.ndarray
    party_org: np.ndarray


@dataclass
class _GridNames:
    facility: pl.Series  # a made-up facility per grid; named after it when dedicated
    names: list[str]
    roads: pl.Series


def build_city(spec: Spec, *, seed: int, progress: Callable[[str, float], None]) -> City:
    """The whole city from ``seed`` alone (the anchor plays no part).

    Every step draws from one random stream, in this order: moving a step changes the tables.
    """
    rng = np.random.default_rng([seed, 1])
    districts = district_codes(spec.districts)
    progress("生成行政区划边界 / building boundaries", 0.01)
    part = partition(spec, n_districts=len(districts), rng=rng, progress=progress)
    codes = _codes_and_names(rng, districts=districts, part=part)
    attrs = _grid_attributes(rng, part=part)
    names = _grid_names(rng, part=part, comm_names=codes.comm_names, dedicated=attrs.dedicated)
    grids = _grid_table(part=part, codes=codes, attrs=attrs, names=names)
    communities = _community_table(rng, part=part, codes=codes, attrs=attrs)
    streets = pl.DataFrame(
        {
            "street_code": codes.street_codes,
            "name": codes.street_names,
            "district": [districts[d][1] for d in part.street_district],
            "geometry": _wkb(part.street_geoms),
        }
    )
    compounds, n_cp = _compounds(
        rng, part=part, codes=codes, attrs=attrs, n_districts=len(districts)
    )
    units = build_units(
        rng,
        districts=districts,
        street_district=part.street_district,
        street_names=codes.street_names,
    )
    n_comm = len(codes.comm_codes)
    ng = len(codes.grid_codes)
    comm_weak = attrs.comm_weak
    comm_factor = np.where(
        comm_weak, rng.uniform(1.6, 1.9, n_comm), rng.lognormal(0.0, 0.12, n_comm)
    )
    weight = _case_weight(rng, attrs=attrs, grid_comm=part.grid_community)
    worker_names = person_names(rng, ng)  # each grid's worker reports its grid_worker cases
    worker_phones = phones(rng, ng)
    return City(
        districts=districts,
        streets=streets,
        communities=communities,
        grids=grids,
        compounds=compounds,
        grid_geoms=part.grid_geoms,
        street_district=part.street_district,
        comm_street=part.community_street,
        grid_comm=part.grid_community,
        comm_weak=comm_weak,
        comm_factor=comm_factor,
        grid_weight=weight / weight.sum(),
        grid_worker_name=worker_names,
        grid_worker_phone=worker_phones,
        grid_place_kind=attrs.dedicated.astype(np.int64),
        grid_facility=names.facility,
        grid_road=names.roads,
        compound_offset=np.r_[0, np.cumsum(n_cp)[:-1]],
        compound_count=n_cp,
        units=units,
    )


def _wkb(geoms: np.ndarray) -> pl.Series:
    return pl.Series(list(shapely.to_wkb(geoms)), dtype=pl.Binary)


def _codes_and_names(
    rng: np.random.Generator, *, districts: list[tuple[str, str]], part: Partition
) -> _Codes:
    """Area codes nest (district 6 + street 3 + community 3 + grid 3 digits)."""
    street_codes: list[str] = []
    for d, (dcode, _) in enumerate(districts):
        street_codes += [f"{dcode}{k + 1:03d}" for k in range(int(part.streets_per_district[d]))]
    street_names = names_pool(rng, len(street_codes), [""], "街道")
    comm_codes: list[str] = []
    for s in range(len(street_codes)):
        comm_codes += [
            f"{street_codes[s]}{k + 1:03d}" for k in range(int(part.communities_per_street[s]))
        ]
    comm_names = names_pool(rng, len(comm_codes), COMMUNITY_SUFFIX, "社区")
    grid_codes = [
        f"{comm_codes[c]}{k + 1:03d}"
        for c in range(len(comm_codes))
        for k in range(int(part.grids_per_community[c]))
    ]
    return _Codes(street_codes, street_names, comm_codes, comm_names, grid_codes)


def _first_grid(part: Partition) -> np.ndarray:
    """Per community: the index of its first grid."""
    return np.r_[0, np.cumsum(part.grids_per_community)[:-1]]


def _grid_attributes(rng: np.random.Generator, *, part: Partition) -> _GridAttributes:
    """Kind, households, population, staffing and party organisation of every grid; about 6 %
    of communities are weak (fewer workers, slower work, more cases)."""
    grid_c = part.grid_community
    ng = grid_c.size
    dedicated = rng.random(ng) < 0.125
    dedicated[_first_grid(part)] = False  # every community keeps at least one basic grid
    basic = ~dedicated
    u = rng.random(ng)
    hh = np.where(
        u < 0.935,
        rng.triangular(300, 405, 500, ng),
        np.where(rng.random(ng) < 0.5, rng.uniform(170, 299, ng), rng.uniform(501, 690, ng)),
    )
    hh = np.where(
        basic, np.round(hh), np.where(rng.random(ng) < 0.35, 0, rng.integers(10, 130, ng))
    )
    hh = hh.astype(np.int64)
    pop = np.round(hh * rng.uniform(2.4, 3.0, ng)).astype(np.int64)
    n_comm = part.grids_per_community.size
    n_weak = max(1, round(0.06 * n_comm))
    weak_idx = rng.choice(n_comm, n_weak, replace=False)
    comm_weak = np.zeros(n_comm, dtype=bool)
    comm_weak[weak_idx] = True
    g_weak = comm_weak[grid_c]
    ft = np.where(
        basic,
        np.where((hh > 470) & (rng.random(ng) < 0.3), 2, 1),
        (rng.random(ng) < 0.7).astype(int),
    )
    no_ft = basic & (rng.random(ng) < np.where(g_weak, 0.25, 0.035))
    ft = np.where(no_ft, 0, ft)
    pt = np.where(basic, rng.integers(2, 7, ng), rng.integers(1, 4, ng))
    org_p = np.where(
        g_weak[:, None],
        [[0.55, 0.30, 0.15]],
        np.where(basic[:, None], [[0.72, 0.245, 0.035]], [[0.6, 0.3, 0.1]]),
    )
    org = np.array(schema.PARTY_ORGS)[cdf_pick(rng.random(ng), org_p, np.arange(ng))]
    return _GridAttributes(dedicated, hh, pop, comm_weak, ft, pt, org)


def _grid_names(
    rng: np.random.Generator, *, part: Partition, comm_names: list[str], dedicated: np.ndarray
) -> _GridNames:
    """A dedicated grid is named after its facility, a basic one 某某社区第N网格."""
    ng = dedicated.size
    facility = pl.Series(place_words(rng, ng)) + pl.Series(
        np.array(FACILITIES)[rng.integers(0, len(FACILITIES), ng)]
    )
    basic = ~dedicated
    first = _first_grid(part)
    basic_rank = np.zeros(ng, dtype=np.int64)
    for c in range(first.size):
        sl = slice(first[c], first[c] + part.grids_per_community[c])
        basic_rank[sl] = np.cumsum(basic[sl])
    fac_list = facility.to_list()
    grid_c = part.grid_community
    names = [
        f"{fac_list[i]}专属网格"
        if dedicated[i]
        else f"{comm_names[grid_c[i]]}第{basic_rank[i]}网格"
        for i in range(ng)
    ]
    roads = pl.Series([w + "路" for w in place_words(rng, ng)])
    return _GridNames(facility, names, roads)


def _grid_table(
    *, part: Partition, codes: _Codes, attrs: _GridAttributes, names: _GridNames
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "grid_code": codes.grid_codes,
            "community_code": [codes.comm_codes[c] for c in part.grid_community],
            "name": names.names,
            "kind": np.where(attrs.dedicated, "dedicated", "basic"),
            "households": attrs.households,
            "population": attrs.population,
            "full_time_workers": attrs.full_time,
            "part_time_workers": attrs.part_time,
            "party_org": attrs.party_org,
            "geometry": _wkb(part.grid_geoms),
        }
    )


def _community_table(
    rng: np.random.Generator, *, part: Partition, codes: _Codes, attrs: _GridAttributes
) -> pl.DataFrame:
    """Households and population add up from the grids; weak communities have fewer workers."""
    grid_c = part.grid_community
    n_comm = len(codes.comm_codes)
    comm_weak = attrs.comm_weak
    c_hh = np.bincount(grid_c, attrs.households, minlength=n_comm).astype(np.int64)
    c_pop = np.bincount(grid_c, attrs.population, minlength=n_comm).astype(np.int64)
    ratio = np.where(comm_weak, rng.normal(14.5, 1.5, n_comm), rng.normal(21.5, 2.6, n_comm))
    workers = np.maximum(6, np.round(c_pop * ratio / 10_000)).astype(np.int64)
    center = np.maximum(300.0, np.round(c_hh * rng.uniform(0.07, 0.16, n_comm) / 10.0) * 10.0)
    return pl.DataFrame(
        {
            "community_code": codes.comm_codes,
            "street_code": [codes.street_codes[s] for s in part.community_street],
            "name": codes.comm_names,
            "households": c_hh,
            "population": c_pop,
            "community_workers": workers,
            "service_center_m2": center,
            "geometry": _wkb(part.community_geoms),
        }
    )


def _compounds(
    rng: np.random.Generator,
    *,
    part: Partition,
    codes: _Codes,
    attrs: _GridAttributes,
    n_districts: int,
) -> tuple[pl.DataFrame, np.ndarray]:
    """Residential compounds of the basic grids (1–7 each), and the count per grid."""
    ng = len(codes.grid_codes)
    hh = attrs.households
    n_cp = np.where(~attrs.dedicated, np.clip(1 + rng.poisson(2.0, ng), 1, 7), 0)
    cp_grid = np.repeat(np.arange(ng), n_cp)
    ncp = len(cp_grid)
    share = rng.gamma(2.0, 1.0, ncp)
    share_sum = np.bincount(cp_grid, share, minlength=ng)
    cover = rng.uniform(0.82, 1.0, ng)
    cp_hh = np.maximum(
        12, np.round(share / share_sum[cp_grid] * hh[cp_grid] * cover[cp_grid])
    ).astype(np.int64)
    cp_seq = np.arange(ncp) - np.r_[0, np.cumsum(n_cp)[:-1]][cp_grid] + 1
    cp_names: list[str] = []
    cp_district = part.street_district[part.community_street[part.grid_community[cp_grid]]]
    for d in range(n_districts):
        k = int((cp_district == d).sum())
        cp_names += names_pool(rng, k, COMPOUND_SUFFIX, "")
    cp_names_arr = np.array(cp_names, dtype=object)
    old = np.char.endswith(cp_names_arr.astype(str), "新村")
    pm_p = np.where(old[:, None], [[0.35, 0.25, 0.33, 0.07]], [[0.80, 0.08, 0.10, 0.02]])
    pm = np.array(schema.PROPERTY_MODES)[cdf_pick(rng.random(ncp), pm_p, np.arange(ncp))]
    grid_codes = codes.grid_codes
    frame = pl.DataFrame(
        {
            "compound_id": [
                f"{grid_codes[g]}{s:02d}" for g, s in zip(cp_grid, cp_seq, strict=True)
            ],
            "grid_code": [grid_codes[g] for g in cp_grid],
            "name": cp_names,
            "households": cp_hh,
            "property_mode": pm,
        }
    )
    return frame, n_cp


def _case_weight(
    rng: np.random.Generator, *, attrs: _GridAttributes, grid_comm: np.ndarray
) -> np.ndarray:
    """Relative case volume per grid: households (dedicated grids a flat 140), more when weak."""
    ng = attrs.dedicated.size
    base = np.where(~attrs.dedicated, np.maximum(attrs.households, 150), 140.0)
    weight = base * rng.lognormal(0.0, 0.3, ng)
    weight *= np.where(attrs.comm_weak[grid_comm], 1.25, 1.0)
    return weight
