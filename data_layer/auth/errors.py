"""Why a sign-in was refused. Callers show ``str(error)``; it never says whether a user name
exists (an unknown user and a wrong password read the same)."""

from __future__ import annotations

import datetime as dt

from data_layer.settings import TIMEZONE as TZ


class AuthError(Exception):
    """A sign-in that was refused."""


class InvalidCredentials(AuthError):
    def __init__(self) -> None:
        super().__init__("用户名或密码错误 / wrong user name or password")


class AccountLocked(AuthError):
    def __init__(self, until: dt.datetime) -> None:
        self.until = until
        local = until.astimezone(TZ)  # shown in the district's time, like everything else
        super().__init__(
            f"登录失败次数过多，账号锁定至 {local:%Y-%m-%d %H:%M} / "
            f"too many failed sign-ins: locked until {local:%Y-%m-%d %H:%M}"
        )


class NoAccess(AuthError):
    """A signed-in identity that GridPulse does not know or cannot give a role."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"无访问权限 / no access: {reason}")
