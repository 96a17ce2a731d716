"""Column mapping: which column of an export feeds which field of GridPulse.

Built-in aliases cover the headers that provincial social-governance platform exports and
Open311 GeoReport v2 use; anything else goes through a mapping file (TOML) that the import page
can save::

    [columns]              # header in the file = field
    "事件单号" = "case_id"
    "发生地址" = ""          # ignore this column

    [values.category]      # extra value words (the built-in words stay)
    "城市管理" = "municipal"

    [options]
    header_row = 3         # 1-based row of the header (default: found automatically)
    default_source = "hotline_12345"
    crs = "gcj02"          # coordinates of the cases (wgs84 | cgcs2000 | gcj02 | bd09 | EPSG:n)
    date_format = "%m/%d/%y %H:%M"   # dates no built-in form reads (docs/import.md)
    district = "东湖区"     # the district of imported streets

    [date_formats]         # per field, before [options] date_format
    reported_at = "%d/%m/%Y %H:%M"

    [boundary_columns]     # attribute of a boundary file = boundary field (any level)
    "adcode" = "code"
    [boundary_columns.grid]  # … or for one level only (wins over the plain section)
    "sqbm" = "parent_code"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from data_layer.ingest.values import check_date_format
from data_layer.storage.source import DataError

# Case fields the importer understands: the cases table (DESIGN §3) plus helper fields that are
# turned into those columns (status → the loop, time limit → due_at, names → grid code).
CASE_FIELDS: dict[str, str] = {
    "case_id": "事件编号 / case id",
    "grid_code": "网格编码 / grid code",
    "grid_name": "网格名称 / grid name",
    "community_code": "社区编码 / community code",
    "community_name": "所属社区 / community",
    "street_code": "街道编码 / street code",
    "street_name": "所属街道 / street office",
    "category": "事件类型 / category",
    "source": "来源 / source",
    "status": "状态 / status",
    "reported_at": "上报时间 / reported at",
    "registered_at": "立案时间 / registered at",
    "rejected": "是否立案 / rejected",
    "dispatched_at": "派遣时间 / dispatched at",
    "handling_unit": "承办单位 / handling unit",
    "handled_at": "处置时间 / handled at",
    "verified_at": "核查时间 / verified at",
    "closed_at": "办结时间 / closed at",
    "due_at": "办理时限 / due at",
    "postponed": "是否缓办 / postponed",
    "rework_count": "返工次数 / rework count",
    "satisfaction": "满意度 / satisfaction",
    "lon": "经度 / longitude",
    "lat": "纬度 / latitude",
    "reporter_name": "联系人 / reporter name",
    "reporter_phone": "联系电话 / reporter phone",
    "description": "事件描述 / description",
    "updated_at": "更新时间 / updated at",
}
CASE_REQUIRED = ("case_id", "reported_at")
DATE_FIELDS = (
    "reported_at",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "verified_at",
    "closed_at",
    "due_at",
    "updated_at",
)
# A grid must be found from one of these (codes, names, or coordinates).
CASE_LOCATION = ("grid_code", "grid_name", "lon")

CASE_ALIASES: dict[str, tuple[str, ...]] = {
    "case_id": (
        "事件编号",
        "案件编号",
        "事件单号",
        "案件单号",
        "工单编号",
        "工单号",
        "编号",
        "事件id",
        "case_id",
        "service_request_id",
        "id",
    ),
    "grid_code": ("网格编码", "网格编号", "网格代码", "所属网格编码", "grid_code"),
    "grid_name": ("所属网格", "网格名称", "网格", "grid_name", "grid"),
    "community_code": ("社区编码", "社区编号", "社区代码", "community_code"),
    "community_name": ("所属社区", "社区", "社区名称", "community_name", "community"),
    "street_code": ("街道编码", "街道编号", "街道代码", "street_code"),
    "street_name": ("所属街道", "街道", "街道名称", "街镇", "street_name", "street"),
    "category": (
        "事件类型",
        "事件类别",
        "案件类型",
        "案件类别",
        "问题类型",
        "问题类别",
        "事件大类",
        "类别",
        "category",
        "service_name",
    ),
    "source": ("来源", "事件来源", "案件来源", "上报渠道", "渠道", "source"),
    "status": ("状态", "事件状态", "案件状态", "办理状态", "处理状态", "status"),
    "reported_at": (
        "上报时间",
        "报告时间",
        "受理时间",
        "发生时间",
        "登记时间",
        "reported_at",
        "requested_datetime",
    ),
    "registered_at": ("立案时间", "registered_at"),
    "rejected": ("是否立案", "不予立案", "rejected"),
    "dispatched_at": ("派遣时间", "派单时间", "分派时间", "dispatched_at"),
    "handling_unit": (
        "承办单位",
        "处置单位",
        "责任单位",
        "办理单位",
        "承办部门",
        "handling_unit",
        "agency_responsible",
    ),
    "handled_at": ("处置时间", "处置完成时间", "处理时间", "handled_at"),
    "verified_at": ("核查时间", "核实时间", "verified_at"),
    "closed_at": ("办结时间", "结案时间", "完成时间", "closed_at"),
    "due_at": (
        "办理时限",
        "处置时限",
        "办结时限",
        "截止时间",
        "期限",
        "due_at",
        "expected_datetime",
    ),
    "postponed": ("是否缓办", "缓办", "postponed"),
    "rework_count": ("返工次数", "退回次数", "rework_count"),
    "satisfaction": ("满意度", "评价结果", "评价", "满意度评价", "satisfaction"),
    "lon": ("经度", "lon", "lng", "long", "longitude", "x坐标", "x"),
    "lat": ("纬度", "lat", "latitude", "y坐标", "y"),
    "reporter_name": ("联系人", "上报人", "反映人", "报告人", "诉求人", "姓名", "reporter_name"),
    "reporter_phone": (
        "联系电话",
        "联系方式",
        "电话",
        "手机",
        "手机号",
        "手机号码",
        "reporter_phone",
        "phone",
    ),
    "description": ("事件描述", "问题描述", "描述", "事件内容", "诉求内容", "内容", "description"),
    "updated_at": ("更新时间", "最后更新时间", "updated_at", "updated_datetime"),
}

# Boundary attributes per level (GeoJSON / Shapefile / GeoPackage properties).
BOUNDARY_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "street": {
        "code": ("street_code", "街道编码", "街道代码", "编码", "code", "jddm"),
        "name": ("name", "街道名称", "街道", "名称", "jdmc"),
        "district": ("district", "区县", "区划代码", "所属区县"),
    },
    "community": {
        "code": ("community_code", "社区编码", "社区代码", "编码", "code", "sqdm"),
        "name": ("name", "社区名称", "社区", "名称", "sqmc"),
        "parent_code": ("street_code", "街道编码", "所属街道编码", "parent_code"),
        "parent_name": ("所属街道", "街道名称", "街道", "street_name", "parent_name"),
        "households": ("households", "户数", "总户数"),
        "population": ("population", "人口", "人口数", "常住人口"),
        "community_workers": ("community_workers", "社区工作者", "社工人数"),
        "service_center_m2": ("service_center_m2", "服务中心面积", "党群服务中心面积"),
    },
    "grid": {
        "code": ("grid_code", "网格编码", "网格代码", "网格编号", "编码", "code", "wgdm"),
        "name": ("name", "网格名称", "网格", "名称", "wgmc"),
        "parent_code": ("community_code", "社区编码", "所属社区编码", "parent_code"),
        "parent_name": ("所属社区", "社区名称", "社区", "community_name", "parent_name"),
        "kind": ("kind", "网格类型", "类型"),
        "households": ("households", "户数", "总户数"),
        "population": ("population", "人口", "人口数"),
        "full_time_workers": ("full_time_workers", "专职网格员", "专职网格员数"),
        "part_time_workers": ("part_time_workers", "兼职网格员", "兼职网格员数"),
        "party_org": ("party_org", "党组织", "网格党组织"),
    },
}


# Boundary fields a mapping file may name (``[boundary_columns]``): the union over the levels.
BOUNDARY_FIELDS: dict[str, str] = {
    "code": "编码 / code",
    "name": "名称 / name",
    "parent_code": "上级编码 / parent code",
    "parent_name": "上级名称 / parent name",
    "district": "区县 / district (streets)",
    "households": "户数 / households",
    "population": "人口 / population",
    "community_workers": "社区工作者 / community workers (communities)",
    "service_center_m2": "服务中心面积 / service centre m² (communities)",
    "kind": "网格类型 / grid kind (grids)",
    "full_time_workers": "专职网格员 / full-time workers (grids)",
    "part_time_workers": "兼职网格员 / part-time workers (grids)",
    "party_org": "党组织 / party organisation (grids)",
}
BOUNDARY_FIELD_SYNONYMS = {"parent": "parent_code"}  # a mapping file may say "parent"
# A Shapefile's attribute names are at most 10 bytes (dBase): GDAL cuts street_code to
# street_cod. A name that long in a file also matches the aliases it is the start of.
DBF_NAME_BYTES = 10


def normalize_header(text: object) -> str:
    """Header as compared with the aliases: no spaces, asterisks, brackets' contents or case."""
    s = str(text or "").strip().lower().replace("\ufeff", "")
    s = re.sub(r"[（(【\[].*?[)）】\]]", "", s)  # 上报时间(必填) → 上报时间
    return re.sub(r"[\s*＊:：]", "", s)


def alias_index(aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Normalised header → field, for one table's aliases (field → headers)."""
    return {normalize_header(alias): target for target, names in aliases.items() for alias in names}


_ALIAS_INDEX = alias_index(CASE_ALIASES)


@dataclass
class Mapping:
    """Header → field for one file, plus value words and options."""

    columns: dict[str, str] = field(default_factory=dict)  # header → field ("" = ignore)
    # boundary attribute → boundary field, per level ("" = every level; "" field = ignore)
    boundary_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field → word → code
    options: dict[str, object] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)  # field → strptime format

    def date_format(self, fld: str) -> str | None:
        """The format of ``fld``'s dates: [date_formats], else [options] date_format."""
        return self.date_formats.get(fld) or self.option("date_format")

    def option(self, key: str, default: object = None) -> object:
        """An [options] value; an empty one counts as not given."""
        value = self.options.get(key, default)
        return value if value not in ("", None) else default

    def to_toml(self) -> str:
        def q(s: object) -> str:
            return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = ["# GridPulse import mapping (docs/import.md)", "", "[columns]"]
        lines += [f"{q(k)} = {q(v)}" for k, v in self.columns.items()]
        for fld, words in self.values.items():
            lines += ["", f"[values.{fld}]"] + [f"{q(k)} = {q(v)}" for k, v in words.items()]
        if self.date_formats:
            lines += ["", "[date_formats]"] + [
                f"{k} = {q(v)}" for k, v in self.date_formats.items()
            ]
        for level, cols in self.boundary_columns.items():
            lines += ["", f"[boundary_columns.{level}]" if level else "[boundary_columns]"]
            lines += [f"{q(k)} = {q(v)}" for k, v in cols.items()]
        if self.options:
            lines += ["", "[options]"]
            for k, v in self.options.items():
                lines.append(
                    f"{k} = {v}"
                    if isinstance(v, int) and not isinstance(v, bool)
                    else f"{k} = {q(v)}"
                )
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str, *, fields: dict[str, str] | None = None) -> Mapping:
        """The mapping file's text; ``fields``: the fields a column may feed (default: the
        case fields)."""
        fields = CASE_FIELDS if fields is None else fields
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"映射文件格式错误 / mapping file is not valid TOML: {exc}") from exc
        columns = {str(k): str(v) for k, v in (raw.get("columns") or {}).items()}
        unknown = sorted({v for v in columns.values() if v and v not in fields})
        if unknown:
            raise DataError(
                f"映射文件中有未知字段 / unknown fields in mapping file: {', '.join(unknown)}; "
                f"可用 / known: {', '.join(fields)}"
            )
        values = {
            str(f): {str(k): str(v) for k, v in words.items()}
            for f, words in (raw.get("values") or {}).items()
        }
        options = dict(raw.get("options") or {})
        date_formats = {str(k): v for k, v in (raw.get("date_formats") or {}).items()}
        known = DATE_FIELDS if fields is CASE_FIELDS else tuple(fields)
        _check_date_formats(options, date_formats, known)
        return cls(
            columns=columns,
            values=values,
            options=options,
            date_formats=date_formats,
            boundary_columns=_boundary_columns(raw.get("boundary_columns") or {}),
        )

    def boundary_mapping(self, level: str) -> dict[str, str]:
        """attribute → boundary field for ``level``: the level's section over the plain one."""
        return {**self.boundary_columns.get("", {}), **self.boundary_columns.get(level, {})}

    @classmethod
    def load(cls, path: Path | str | None, *, fields: dict[str, str] | None = None) -> Mapping:
        if path is None:
            return cls()
        try:
            return cls.from_toml(Path(path).read_text(encoding="utf-8"), fields=fields)
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"无法读取映射文件 / cannot read mapping file {path}: {exc}") from exc


def _check_date_formats(
    options: dict[str, object], date_formats: dict[str, object], known: tuple[str, ...]
) -> None:
    """A DataError naming each date format that cannot work, and each key of [date_formats]
    that is not one of the ``known`` (date) fields."""
    problems = [
        f"[date_formats] {k}: 不是日期字段 / not a date field (可用 / known: {', '.join(known)})"
        for k in date_formats
        if k not in known
    ]
    given = {f"[date_formats] {k}": v for k, v in date_formats.items() if k in known}
    if options.get("date_format") not in (None, ""):
        given["[options] date_format"] = options["date_format"]
    for where, fmt in given.items():
        why = check_date_format(fmt)
        if why:
            problems.append(f"{where} = {fmt!r}: {why}")
    if problems:
        raise DataError(
            "映射文件中的日期格式有误 / bad date format in the mapping file: "
            + "; ".join(problems)
            + '. 格式写法如 / write it as, e.g. "%m/%d/%y %H:%M" (%Y 四位年, %y 两位年, %m 月, '
            "%d 日, %H 时, %M 分, %S 秒; docs/import.md)"
        )


def _boundary_columns(raw: dict) -> dict[str, dict[str, str]]:
    """``[boundary_columns]`` (and ``[boundary_columns.<level>]``) checked: every field known."""
    from data_layer.domain.areas import LEVELS

    out: dict[str, dict[str, str]] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            if key not in LEVELS:
                raise DataError(
                    f"映射文件 [boundary_columns.{key}]：未知层级 / unknown level {key!r}; "
                    f"可用 / known: {', '.join(LEVELS)}"
                )
            out.setdefault(key, {}).update({str(k): str(v) for k, v in value.items()})
        else:
            out.setdefault("", {})[str(key)] = str(value)
    for cols in out.values():
        for attr, fld in cols.items():
            cols[attr] = BOUNDARY_FIELD_SYNONYMS.get(fld, fld)
    unknown = sorted(
        {f for cols in out.values() for f in cols.values() if f and f not in BOUNDARY_FIELDS}
    )
    if unknown:
        raise DataError(
            f"映射文件 [boundary_columns] 中有未知字段 / unknown boundary fields in mapping file: "
            f"{', '.join(unknown)}; 可用 / known boundary fields: {', '.join(BOUNDARY_FIELDS)}"
        )
    return out


def same_attribute(attribute: str, name: str, *, truncated: bool = False) -> bool:
    """Whether a boundary file's ``attribute`` is ``name`` (as headers compare) or, with
    ``truncated``, ``name`` cut to a Shapefile's 10 bytes (``street_cod`` for street_code)."""
    a, b = normalize_header(attribute), normalize_header(name)
    if a == b:
        return True
    if not truncated or len(attribute.encode("utf-8")) < DBF_NAME_BYTES - 1:
        return False
    cut = b.encode("utf-8")[:DBF_NAME_BYTES].decode("utf-8", "ignore")
    return len(b.encode("utf-8")) > DBF_NAME_BYTES and a == cut


def alias_target(header: str, index: dict[str, str] | None = None) -> str | None:
    """The field a header feeds by the built-in aliases (``index``: default the cases')."""
    return (_ALIAS_INDEX if index is None else index).get(normalize_header(header))


def resolve_columns(
    headers: list[str], mapping: Mapping, *, index: dict[str, str] | None = None
) -> dict[str, str]:
    """field → header for a file: the mapping file first, then the built-in aliases
    (``index`` from ``alias_index``; default the case aliases).

    Each field takes the first header that maps to it; a header maps to at most one field.
    """
    index = _ALIAS_INDEX if index is None else index
    out: dict[str, str] = {}
    explicit = {normalize_header(k): v for k, v in mapping.columns.items()}
    for h in headers:
        key = normalize_header(h)
        if key in explicit:
            target = explicit[key]
            if target and target not in out:
                out[target] = h
    for h in headers:
        key = normalize_header(h)
        if key in explicit or h in out.values():
            continue
        target = index.get(key)
        if target and target not in out:
            out[target] = h
    return out


def missing_required(resolved: dict[str, str]) -> list[str]:
    """Required fields no column feeds, as 'field (中文 / English)' texts."""
    missing = [f for f in CASE_REQUIRED if f not in resolved]
    if not any(f in resolved for f in CASE_LOCATION):
        missing.append("grid_code")
    return [f"{f}（{CASE_FIELDS[f]}）" for f in missing]


def header_score(cells: list[object], index: dict[str, str] | None = None) -> int:
    """How many cells of a row look like known headers (used to find the header row;
    ``index``: the table's aliases, default the cases')."""
    index = _ALIAS_INDEX if index is None else index
    return sum(1 for c in cells if c is not None and normalize_header(c) in index)
