"""What the demo case stream looks like: category and source mix, seasons, weekdays, hours of
the day, rejection, handling speed, postponement and the words of the descriptions.

Per-category arrays follow ``CAT`` (schema.CATEGORIES), per-source arrays follow ``SRC``.
"""

from __future__ import annotations

import numpy as np

from data_layer.domain import schema

# dispute safety_hazard environment property municipal livelihood other
CAT = list(schema.CATEGORIES)
# grid_worker hotline_12345 resident_order micro_wish party_member
SRC = list(schema.SOURCES)
CAT_SHARE = np.array([0.052, 0.13, 0.28, 0.16, 0.15, 0.14, 0.088])
# P(source | category); rows follow CAT, columns SRC.
SRC_GIVEN_CAT = np.array(
    [
        [0.45, 0.35, 0.12, 0.02, 0.06],
        [0.70, 0.15, 0.05, 0.00, 0.10],
        [0.62, 0.22, 0.08, 0.01, 0.07],
        [0.35, 0.35, 0.25, 0.01, 0.04],
        [0.60, 0.28, 0.06, 0.01, 0.05],
        [0.30, 0.30, 0.15, 0.20, 0.05],
        [0.50, 0.30, 0.10, 0.03, 0.07],
    ]
)
# Monthly multipliers per category (Jan..Dec), interpolated day by day.
SEASON = np.array(
    [
        [1.30, 1.10, 0.90, 0.90, 1.00, 1.00, 1.00, 1.00, 1.00, 0.90, 1.00, 1.20],
        [1.20, 1.10, 0.90, 0.90, 1.00, 1.30, 1.30, 1.10, 0.90, 0.90, 1.00, 1.20],
        [0.80, 0.75, 0.90, 1.00, 1.10, 1.30, 1.45, 1.40, 1.10, 1.00, 0.90, 0.80],
        [1.10, 1.00, 1.00, 1.00, 1.00, 1.10, 1.20, 1.20, 1.00, 1.00, 1.00, 1.10],
        [0.90, 0.90, 1.00, 1.05, 1.15, 1.35, 1.25, 1.10, 1.00, 0.90, 0.90, 0.90],
        [1.20, 1.20, 1.00, 0.90, 0.90, 0.90, 1.00, 1.00, 1.10, 1.00, 1.00, 1.10],
        [1.00] * 12,
    ]
)
# Weekday multipliers per source (Mon..Sun).
WEEKDAY = np.array(
    [
        [1.10, 1.05, 1.05, 1.05, 1.00, 0.45, 0.35],
        [1.10, 1.00, 1.00, 1.00, 1.00, 0.85, 0.80],
        [1.00, 1.00, 1.00, 1.00, 1.00, 0.90, 0.90],
        [1.00, 1.00, 1.00, 1.00, 1.00, 0.80, 0.80],
        [0.80, 0.80, 0.80, 0.80, 0.90, 1.60, 1.40],
    ]
)
# Hour-of-day weights per source (0..23): the 00–11 h columns beside the 12–23 h ones.
HOURS = np.hstack(
    [
        np.array(
            [
                [0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 3, 5, 5.5, 4.5],
                [0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 1, 3, 5, 5, 4],
                [0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 1, 2.5, 4, 4, 3.5],
                [0.05, 0.02, 0.02, 0.02, 0.02, 0.05, 0.1, 0.5, 2, 4, 4, 3.5],
                [0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 1, 2, 3.5, 3.5, 3],
            ]
        ),
        np.array(
            [
                [1.5, 1.5, 4, 5, 4.5, 3, 1.5, 0.8, 0.5, 0.3, 0.1, 0.1],
                [2.5, 2.5, 4, 4.5, 4, 3, 2.5, 2.5, 2.5, 2, 1, 0.5],
                [2, 2, 3.5, 4, 3.5, 3, 2.5, 3, 3, 2, 0.8, 0.3],
                [1.5, 1.5, 3.5, 4, 3.5, 2.5, 1.5, 1, 0.8, 0.5, 0.2, 0.1],
                [1.5, 1.5, 3, 3, 3, 2.5, 2, 3, 3, 2, 0.8, 0.3],
            ]
        ),
    ]
)
REJECT_P = np.array([0.012, 0.065, 0.045, 0.03, 0.02])  # per source
# Median handling time as a share of the category's deadline (short deadlines: faster work).
HANDLE_F = np.array([0.28, 0.12, 0.17, 0.2, 0.28, 0.28, 0.28])
POSTPONE_P = np.array([0.04, 0.005, 0.008, 0.015, 0.03, 0.012, 0.01])  # per category

# Description templates per category: (uses building number, text after the place).
TEMPLATES: dict[str, list[tuple[bool, str]]] = {
    "dispute": [
        (True, "楼上楼下因漏水问题产生纠纷"),
        (True, "住户因噪音扰民发生邻里矛盾"),
        (False, "业主与物业因停车收费产生争议"),
        (False, "两户居民因公共区域占用发生口角"),
        (False, "装修工人反映被拖欠工资"),
        (True, "租户与房东因押金退还产生纠纷"),
        (False, "居民因宠物扰民发生邻里纠纷"),
    ],
    "safety_hazard": [
        (True, "楼道堆放杂物，堵塞消防通道"),
        (True, "有电动车在楼道内充电"),
        (False, "外墙瓷砖松动，存在坠落风险"),
        (False, "消防栓无水，灭火器过期"),
        (False, "燃气管道有异味，疑似泄漏"),
        (True, "住户私拉电线飞线充电"),
        (False, "围墙出现裂缝，存在倒塌隐患"),
    ],
    "environment": [
        (False, "垃圾桶满溢未及时清运"),
        (True, "旁有人乱堆建筑垃圾"),
        (False, "有人露天焚烧垃圾"),
        (False, "绿化带内杂草丛生、蚊虫较多"),
        (False, "下水道返臭，污水外溢"),
        (False, "餐馆油烟扰民"),
        (False, "占道经营，环境脏乱"),
    ],
    "property": [
        (True, "电梯故障停运"),
        (True, "楼顶漏水，物业未及时维修"),
        (False, "门禁损坏，外来人员随意进出"),
        (False, "路灯不亮，物业未处理"),
        (True, "二次供水水压不足"),
        (False, "公共区域卫生无人打扫"),
    ],
    "municipal": [
        (False, "路面坑洼，影响车辆通行"),
        (False, "井盖缺失，存在安全隐患"),
        (False, "路灯损坏，夜间照明不足"),
        (False, "人行道地砖破损"),
        (False, "雨水篦子堵塞，路面积水"),
        (False, "交通护栏损坏"),
        (False, "行道树倒伏，影响通行"),
    ],
    "livelihood": [
        (True, "独居老人需要上门照料"),
        (False, "居民咨询医保缴费办理流程"),
        (False, "困难家庭申请临时救助"),
        (False, "居民反映缺少便民菜场"),
        (False, "居民咨询养老服务补贴政策"),
        (False, "残疾人申请辅具适配"),
        (False, "居民反映社区食堂用餐不便"),
    ],
    "other": [
        (False, "共享单车乱停乱放"),
        (False, "流浪犬出没，居民担心安全"),
        (True, "楼道小广告乱张贴"),
        (False, "工地夜间施工扰民"),
        (False, "居民咨询户籍办理事项"),
        (False, "违规设置地锁"),
    ],
}
ROAD_SHARE = np.array([0.1, 0.2, 0.35, 0.05, 0.9, 0.1, 0.3])  # per category: place is a road
