"""The analytics pages' queries, cached (``ui.cached.cached_query``), one line each.

Call them like the ``data_layer.queries`` function of the same name, without the dataset
and the scope: ``queries.case_funnel(flt, window=window)``.
"""

from __future__ import annotations

from data_layer.queries import cases, coverage, ranking, volunteer
from ui.cached import cached_query

# -- 案件办结 case closure
case_funnel = cached_query(cases.case_funnel)
case_trend = cached_query(cases.case_trend)
case_breakdown = cached_query(cases.case_breakdown)
unit_scorecard = cached_query(cases.unit_scorecard)
close_time_stats = cached_query(cases.close_time_stats)
open_cases = cached_query(cases.open_cases)

# -- 网格覆盖 grid coverage (snapshots: no window)
grid_kinds = cached_query(coverage.grid_kinds)
party_orgs = cached_query(coverage.party_orgs)
property_modes = cached_query(coverage.property_modes)
grids_without_full_time = cached_query(coverage.grids_without_full_time)
grid_sizes = cached_query(coverage.grid_sizes)

# -- 志愿服务 volunteer activity
volunteer_teams = cached_query(volunteer.volunteer_teams)
activities_by_kind = cached_query(volunteer.activities_by_kind)
party_reports = cached_query(volunteer.party_reports)
wish_funnel = cached_query(volunteer.wish_funnel)
volunteer_summary = cached_query(volunteer.volunteer_summary)
most_and_least_active = cached_query(volunteer.most_and_least_active)

# -- 红黑榜 ranking
ranking_board = cached_query(ranking.ranking_board)
