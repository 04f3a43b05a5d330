"""The client of a served lab (``smartlab serve``): the same API as a local lab, over HTTP.

Above the Lab core, campaigns and lab management. Importing this package
registers the ``"connect"`` factory, so ``Lab.connect(url, api_key)`` returns
a :class:`RemoteLab`.
"""

from ..session.attachments import register_attachment
from .campaign import QueueLab, remote_campaign
from .lab import LabUnavailableError, RemoteLab, RemoteRun
from .room import HttpLab, RemoteRoom, RoomNotAllowedError

register_attachment("connect", RemoteLab)

__all__ = [
    "HttpLab",
    "LabUnavailableError",
    "QueueLab",
    "RemoteLab",
    "RemoteRoom",
    "RemoteRun",
    "RoomNotAllowedError",
    "remote_campaign",
]
