from csvhub.datasets.errors import DatasetError


class InvalidAlarmRule(DatasetError):
    """A rule that cannot be kept as written (the message says what to change): 400."""


class AlarmRuleNotFound(DatasetError):
    status_code = 404
