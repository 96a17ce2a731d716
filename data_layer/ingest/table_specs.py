"""What each reference table's import reads: its fields, their Chinese headers, types,
allowed words and an example (docs/import.md, "Every table").

One ``TableSpec`` per table (compounds, volunteer_teams, activities, party_reports, wishes).
A field is a column of the table (``data_layer.domain.schema``) or a helper that is turned into
one (``grid_name`` → ``grid_code``, ``team_name`` → ``team_id``). The same spec drives the
column mapping (aliases), the validation (``table_rules``), the import (``tables``) and the
.xlsx template (``template``), so a header, a word or a rule is written down once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from data_layer.domain import labels, schema
from data_layer.ingest.mapping import (
    CASE_ALIASES,
    CASE_FIELDS,
    Mapping,
    alias_index,
    missing_required,
    resolve_columns,
)

# field kinds: how a field's text is parsed
ID, TEXT, COUNT, NUMBER, DATE, DATETIME, WORD, AREA = (
    "id",
    "text",
    "count",
    "number",
    "date",
    "datetime",
    "word",
    "area",
)


@dataclass(frozen=True)
class Field:
    """One field of an import: its name, the header the template writes, how it is parsed."""

    name: str
    zh: str  # the template's header (also an alias)
    en: str
    kind: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    words: str | None = None  # key of ``WORDS`` for a WORD field
    example: str = ""
    meaning: str = ""  # 含义 / meaning, for the template's second sheet
    template: bool = True  # a column of the template

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.zh, *self.aliases, self.name)


@dataclass(frozen=True)
class TableSpec:
    """A table's import: its fields and where its rows belong (a grid or a community)."""

    table: str
    zh: str
    en: str
    fields: tuple[Field, ...]
    place: str  # "grid" (compounds) or "community"
    locate_by: tuple[str, ...]  # a file must map one of these fields to place its rows

    @property
    def key(self) -> str:
        return schema.KEYS[self.table]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def names(self) -> dict[str, str]:
        """field → '中文 / English', as ``mapping.CASE_FIELDS`` (the mapping editor, messages)."""
        return {f.name: f"{f.zh} / {f.en}" for f in self.fields}

    def by_kind(self, *kinds: str) -> list[Field]:
        return [f for f in self.fields if f.kind in kinds]

    @property
    def index(self) -> dict[str, str]:
        """Normalised header → field, for ``mapping.resolve_columns`` and the header row."""
        return alias_index({f.name: f.headers for f in self.fields})

    def missing(self, resolved: dict[str, str]) -> list[str]:
        """Required fields no column feeds, as 'field（中文 / English）' texts."""
        missing = [f for f in self.fields if f.required and f.name not in resolved]
        out = [f"{f.name}（{f.zh} / {f.en}）" for f in missing]
        if not any(name in resolved for name in self.locate_by):
            first = self.field(self.locate_by[0])
            alternatives = " / ".join(self.field(n).zh for n in self.locate_by)
            out.append(f"{first.name}（{alternatives}）")
        return out


# --------------------------------------------------------------------------------------------
# words: the codes of each enumeration, with the Chinese words platforms export
# --------------------------------------------------------------------------------------------

_PROPERTY_WORDS = {
    "professional": ["专业化", "专业化物业", "专业物业", "物业公司", "专业化物业服务", "市场化"],
    "self_managed": ["自治型", "自治", "业主自治", "自治型物业", "居民自治", "自管", "自治管理"],
    "fallback": ["兜底型", "兜底", "社区兜底", "兜底型物业", "托管", "社区托管", "政府兜底"],
    "none": ["无", "无物业", "无物业服务", "没有物业", "未覆盖", "否"],
}
_TEAM_WORDS = {
    "party_member": ["党员", "党员先锋", "党员志愿服务队", "党员先锋队"],
    "youth": ["青年", "青年志愿者", "团员", "学生"],
    "elderly": ["银龄", "老年", "老党员", "夕阳红"],
    "professional": ["专业", "法律", "医疗", "心理"],
    "women": ["巾帼", "妇女", "女性"],
}
_ACTIVITY_WORDS = {
    "cleanup": ["环境整治", "清洁", "卫生", "环境", "垃圾分类", "美化"],
    "elderly_care": ["敬老", "助老", "敬老助老", "关爱老人", "养老"],
    "publicity": ["宣传", "政策宣传", "宣讲", "文明实践"],
    "patrol": ["巡逻", "平安巡逻", "治安巡逻", "巡查", "安全"],
    "health": ["义诊", "健康", "健康义诊", "医疗"],
    "legal": ["法律", "法律援助", "普法", "法律咨询"],
    "education": ["教育", "辅导", "教育辅导", "课业", "托管"],
    "culture": ["文化", "文艺", "文化活动", "文体"],
}
_CLAIMER_WORDS = {
    "party_member": ["党员", "在职党员", "党员认领", "报到党员"],
    "enterprise": ["企业", "公司", "爱心企业", "单位"],
    "volunteer": ["志愿者", "个人", "爱心人士", "居民"],
    "social_org": ["社会组织", "社团", "协会", "基金会"],
}
# (code kind for the labels, codes, built-in words, keyword match inside a longer word)
WORDS: dict[str, tuple[str, tuple[str, ...], dict[str, list[str]], bool]] = {
    "property_mode": ("property_mode", schema.PROPERTY_MODES, _PROPERTY_WORDS, False),
    "team_kind": ("team_kind", schema.TEAM_KINDS, _TEAM_WORDS, True),
    "activity_kind": ("activity_kind", schema.ACTIVITY_KINDS, _ACTIVITY_WORDS, True),
    "claimer_kind": ("claimer_kind", schema.CLAIMER_KINDS, _CLAIMER_WORDS, True),
}


def words_of(kind: str) -> dict[str, list[str]]:
    """code → accepted words: the built-in ones and the code's labels in both languages."""
    label_kind, codes, builtin, _ = WORDS[kind]
    return {
        code: [
            *builtin.get(code, []),
            *(labels.code_label(label_kind, code, lang=lang) for lang in labels.LANGS),
        ]
        for code in codes
    }


def allowed_text(kind: str) -> str:
    """'专业化（professional）/ 自治型（self_managed）…' for messages and the template."""
    label_kind, codes, builtin, _ = WORDS[kind]
    return " / ".join(
        f"{(builtin.get(c) or [labels.code_label(label_kind, c, lang='zh')])[0]}（{c}）"
        for c in codes
    )


# --------------------------------------------------------------------------------------------
# the fields
# --------------------------------------------------------------------------------------------


def _area(name: str, zh: str, en: str, example: str, meaning: str, **kw) -> Field:
    """An area reference, with the case importer's aliases for it."""
    return Field(
        name, zh, en, AREA, aliases=CASE_ALIASES[name], example=example, meaning=meaning, **kw
    )


_GRID_CODE = _area("grid_code", "网格编码", "grid code", "{grid_code}", "15 位网格编码")
_GRID_NAME = _area(
    "grid_name",
    "所属网格",
    "grid",
    "{grid_name}",
    "网格名称（没有编码时用；在社区内唯一即可）",
    template=False,
)
_COMMUNITY_CODE = _area(
    "community_code", "社区编码", "community code", "{community_code}", "12 位社区编码"
)
_COMMUNITY_NAME = _area(
    "community_name",
    "所属社区",
    "community",
    "{community_name}",
    "社区名称（没有编码时用；在街道内唯一即可）",
    template=False,
)
_STREET_CODE = _area(
    "street_code",
    "街道编码",
    "street code",
    "",
    "9 位街道编码（区分同名社区时用）",
    template=False,
)
_STREET_NAME = _area(
    "street_name", "所属街道", "street", "", "街道名称（区分同名社区时用）", template=False
)
_COMMUNITY_PLACE = (_COMMUNITY_CODE, _COMMUNITY_NAME, _STREET_CODE, _STREET_NAME)


COMPOUNDS = TableSpec(
    table="compounds",
    zh="小区",
    en="compounds",
    place="grid",
    locate_by=("grid_code", "grid_name"),
    fields=(
        Field(
            "compound_id",
            "小区编号",
            "compound id",
            ID,
            required=True,
            aliases=("小区编码", "小区代码", "小区id", "编号", "id"),
            example="XQ0001",
            meaning="小区的唯一编号；再次导入同一编号即更新该小区",
        ),
        Field(
            "name",
            "小区名称",
            "name",
            TEXT,
            required=True,
            aliases=("小区", "小区名", "名称", "name"),
            example="幸福家园",
            meaning="小区名称",
        ),
        _GRID_CODE,
        _GRID_NAME,
        replace(_COMMUNITY_CODE, template=False),
        _COMMUNITY_NAME,
        Field(
            "households",
            "户数",
            "households",
            COUNT,
            aliases=("总户数", "住户数", "住户户数", "居民户数"),
            example="420",
            meaning="小区住户数（非负整数）",
        ),
        Field(
            "property_mode",
            "物业服务模式",
            "property service",
            WORD,
            required=True,
            aliases=("物业模式", "物业服务方式", "物业类型", "物业管理模式", "物业服务", "物业"),
            words="property_mode",
            example="专业化",
            meaning="物业服务模式；“无”表示没有物业服务（计入物业服务覆盖率的分母）",
        ),
    ),
)

VOLUNTEER_TEAMS = TableSpec(
    table="volunteer_teams",
    zh="志愿服务队",
    en="volunteer teams",
    place="community",
    locate_by=("community_code", "community_name"),
    fields=(
        Field(
            "team_id",
            "队伍编号",
            "team id",
            ID,
            required=True,
            aliases=("队伍编码", "服务队编号", "志愿服务队编号", "团队编号", "编号", "id"),
            example="DW001",
            meaning="志愿服务队的唯一编号；活动表用它指明所属队伍",
        ),
        Field(
            "name",
            "队伍名称",
            "name",
            TEXT,
            required=True,
            aliases=("服务队名称", "志愿服务队名称", "团队名称", "志愿服务队", "名称", "name"),
            example="幸福社区党员先锋志愿服务队",
            meaning="队伍名称",
        ),
        *_COMMUNITY_PLACE,
        Field(
            "kind",
            "队伍类型",
            "kind",
            WORD,
            required=True,
            aliases=("服务队类型", "队伍类别", "团队类型", "类型", "kind"),
            words="team_kind",
            example="党员",
            meaning="队伍类型（名称中含“党员”“青年”“银龄”“巾帼”等即可识别）",
        ),
        Field(
            "members",
            "人数",
            "members",
            COUNT,
            aliases=("队员人数", "成员人数", "队伍人数", "志愿者人数", "队员数"),
            example="36",
            meaning="队员人数（非负整数）",
        ),
    ),
)

MAX_HOURS_PER_PARTICIPANT = 24.0  # person-hours of one participant on one activity
MAX_HOURS_WITHOUT_PARTICIPANTS = 2_400.0  # an activity that does not say how many took part

ACTIVITIES = TableSpec(
    table="activities",
    zh="志愿活动",
    en="activities",
    place="community",
    locate_by=(
        "community_code",
        "community_name",
        "grid_code",
        "grid_name",
        "team_id",
        "team_name",
    ),
    fields=(
        Field(
            "activity_id",
            "活动编号",
            "activity id",
            ID,
            required=True,
            aliases=("活动编码", "活动id", "编号", "id"),
            example="HD0001",
            meaning="活动的唯一编号",
        ),
        Field(
            "team_id",
            "队伍编号",
            "team id",
            ID,
            aliases=("服务队编号", "志愿服务队编号", "团队编号", "team_id"),
            example="{team_id}",
            meaning="开展活动的志愿服务队编号（须已导入；可空）",
        ),
        Field(
            "team_name",
            "所属队伍",
            "team",
            TEXT,
            aliases=("队伍名称", "服务队名称", "志愿服务队", "服务队", "team_name"),
            meaning="队伍名称（没有队伍编号时用；须唯一）",
            template=False,
        ),
        *_COMMUNITY_PLACE,
        replace(_GRID_CODE, example="", meaning="活动所在网格的编码（可空：全社区的活动）"),
        _GRID_NAME,
        Field(
            "date",
            "活动日期",
            "date",
            DATE,
            required=True,
            aliases=("活动时间", "开展日期", "开展时间", "服务日期", "日期"),
            example="2025-03-05",
            meaning="活动日期",
        ),
        Field(
            "hours",
            "服务时长",
            "hours",
            NUMBER,
            required=True,
            aliases=("志愿服务时长", "服务时长小时", "总时长", "时长", "服务小时数"),
            example="24",
            meaning=(
                "服务时长（小时，所有参与者合计，即人·小时）；大于 0，且每位参与者不超过 "
                f"{MAX_HOURS_PER_PARTICIPANT:g} 小时（未填参与人数时不超过 "
                f"{MAX_HOURS_WITHOUT_PARTICIPANTS:,.0f}）"
            ),
        ),
        Field(
            "participants",
            "参与人数",
            "participants",
            COUNT,
            aliases=("参加人数", "参与志愿者人数", "志愿者人数", "人数"),
            example="12",
            meaning="参与人数（非负整数）",
        ),
        Field(
            "kind",
            "活动类型",
            "kind",
            WORD,
            required=True,
            aliases=("活动类别", "服务类型", "服务类别", "类型", "kind"),
            words="activity_kind",
            example="环境整治",
            meaning="活动类型（含“环境”“敬老”“宣传”“巡逻”“义诊”“法律”“辅导”“文化”等即可识别）",
        ),
    ),
)

PARTY_REPORTS = TableSpec(
    table="party_reports",
    zh="在职党员报到",
    en="party report-ins",
    place="community",
    locate_by=("community_code", "community_name"),
    fields=(
        Field(
            "member_id",
            "党员编号",
            "member id",
            ID,
            required=True,
            aliases=("党员编码", "报到编号", "编号", "id"),
            example="DY0001",
            meaning="在职党员的编号（不要填身份证号；报告中手机号、身份证号会脱敏）",
        ),
        Field(
            "unit",
            "工作单位",
            "unit",
            TEXT,
            aliases=("所在单位", "单位", "单位名称", "所属单位", "unit"),
            example="区税务局",
            meaning="党员所在工作单位",
        ),
        _COMMUNITY_CODE,
        replace(_COMMUNITY_NAME, aliases=("报到社区", *CASE_ALIASES["community_name"])),
        _STREET_CODE,
        _STREET_NAME,
        Field(
            "reported_on",
            "报到日期",
            "reported on",
            DATE,
            required=True,
            aliases=("报到时间", "日期"),
            example="2025-03-02",
            meaning="到社区报到的日期",
        ),
        Field(
            "posts_claimed",
            "认领岗位数",
            "posts claimed",
            COUNT,
            aliases=("认领岗位", "认领岗位数量", "岗位数"),
            example="1",
            meaning="认领的服务岗位数（非负整数）",
        ),
    ),
)

WISHES = TableSpec(
    table="wishes",
    zh="微心愿",
    en="micro-wishes",
    place="community",
    locate_by=("community_code", "community_name"),
    fields=(
        Field(
            "wish_id",
            "心愿编号",
            "wish id",
            ID,
            required=True,
            aliases=("微心愿编号", "心愿编码", "编号", "id"),
            example="XY0001",
            meaning="微心愿的唯一编号",
        ),
        *_COMMUNITY_PLACE,
        Field(
            "created_at",
            "提出时间",
            "created at",
            DATETIME,
            required=True,
            aliases=("征集时间", "发布时间", "登记时间", "创建时间", "许愿时间"),
            example="2025-03-01 09:00",
            meaning="心愿提出（征集）的时间",
        ),
        Field(
            "claimed_at",
            "认领时间",
            "claimed at",
            DATETIME,
            aliases=("领取时间",),
            example="2025-03-02 10:00",
            meaning="被认领的时间（未认领留空；不得早于提出时间）",
        ),
        Field(
            "fulfilled_at",
            "实现时间",
            "fulfilled at",
            DATETIME,
            aliases=("完成时间", "兑现时间", "圆梦时间"),
            example="2025-03-10 16:00",
            meaning="心愿实现的时间（未实现留空；须已认领，且不得早于认领时间）",
        ),
        Field(
            "claimer_kind",
            "认领人类型",
            "claimed by",
            WORD,
            aliases=("认领方类型", "认领主体", "认领人身份", "认领类型"),
            words="claimer_kind",
            example="党员",
            meaning="认领者类型（未认领留空）",
        ),
    ),
)

SPECS: dict[str, TableSpec] = {
    s.table: s for s in (COMPOUNDS, VOLUNTEER_TEAMS, ACTIVITIES, PARTY_REPORTS, WISHES)
}
TABLES = tuple(SPECS)


def fields_of(kind: str) -> dict[str, str]:
    """The fields a column may feed for ``kind`` (cases or a table): field → '中文 / English'."""
    return CASE_FIELDS if kind == "cases" else SPECS[kind].names()


def missing_of(kind: str, headers: list[str], mapping: Mapping) -> list[str]:
    """Required fields of ``kind`` that no header feeds under ``mapping``."""
    if kind == "cases":
        return missing_required(resolve_columns(headers, mapping))
    spec = SPECS[kind]
    return spec.missing(resolve_columns(headers, mapping, index=spec.index))
