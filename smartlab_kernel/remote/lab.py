"""A lab served by ``smartlab serve``: submit to the shared queue, read runs from its catalog.

:class:`RemoteLab` mirrors :class:`~smartlab_kernel.session.lab.Lab` where it
can. The one difference that matters: the plan runs in the server's RE
Manager, not in this process, so a queue item is a plan *name* with JSON
arguments (``lab.submit("measure", temperature_c=60)``), not a generator.
``lab.plans()`` lists what the server offers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from ..session.errors import SessionError
from .campaign import remote_campaign
from .room import RemoteRoom, RoomNotAllowedError

#: Environment variable read when no ``api_key`` is given.
API_KEY_ENV = "SMARTLAB_API_KEY"

#: Queue exit status -> run state. ``unknown``: the RE Manager restarted while the
#: item ran (e.g. after a Redis restart); its runs may well be complete in the catalog.
_FINAL = {"completed": "finished", "stopped": "finished", "failed": "failed", "unknown": "unknown"}


#: The queue endpoints for students (see ``smartlab_kernel/serve/queue_router.py``).
_STUDENT_ADD = ("POST", "/api/smartlab/queue/item/add")
_STUDENT_REMOVE = ("POST", "/api/smartlab/queue/item/remove")


class LabUnavailableError(SessionError):
    """The lab server did not answer in time (restarting, overloaded, or down); try again."""


#: Seconds a run's data may take to reach the catalog after its queue item ended.
_STORED_GRACE_S = 30.0


class RemoteRun:
    """A plan submitted to the shared queue (returned at once by :meth:`RemoteLab.submit`).

    Attributes:
        item_uid: The queue item's uid.
        plan_name: The plan's name.
    """

    def __init__(self, lab: RemoteLab, item_uid: str, plan_name: str) -> None:
        self._lab = lab
        self.item_uid = item_uid
        self.plan_name = plan_name

    def __repr__(self) -> str:
        return f"<RemoteRun {self.plan_name} {self.item_uid[:8]} {self.state}>"

    def _result(self, reload: bool = False) -> dict[str, Any] | None:
        item = self._lab._history_item(self.item_uid, reload=reload)
        return None if item is None else dict(item.get("result", {}))

    @property
    def state(self) -> str:
        """One of queued, running, finished, failed, aborted, unknown, removed.

        ``removed``: taken out of the queue before it ran (by you or an instructor).
        """
        result = self._result()
        if result is None:
            place = self._lab._waiting().get(self.item_uid)
            if place is not None:
                return place
            # it may have ended between the two reads: read the history afresh, since
            # the cached status may predate the queue read and name an older history
            result = self._result(reload=True)
        if result is None:
            return "removed"
        return _FINAL.get(str(result.get("exit_status")), "aborted")

    @property
    def position(self) -> int | None:
        """Place in the queue (1 = next), 0 while running, ``None`` once done."""
        if self._lab._call("status", reload=True).get("running_item_uid") == self.item_uid:
            return 0
        for entry in self._lab.queue():
            if entry["item_uid"] == self.item_uid:
                return int(entry["position"])
        return None

    @property
    def uids(self) -> list[str]:
        """Start-document uids of the runs it recorded (known once it has ended)."""
        result = self._result()
        return list(result.get("run_uids", [])) if result else []

    @property
    def reason(self) -> str:
        """The queue's message when it failed (empty otherwise)."""
        result = self._result()
        return str(result.get("msg", "")) if result else ""

    def wait(self, timeout: float | None = None, poll: float = 0.2) -> list[str]:
        """Block until the item has ended and its runs are in the catalog; return their uids.

        A server that is briefly unavailable (restarting) is waited for too.

        Raises:
            TimeoutError: If it has not ended within ``timeout`` seconds.
            SessionError: If it failed (with the queue's message).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                result = self._result()
            except LabUnavailableError:
                result = None
            if result is not None:
                break
            try:
                removed = self.state == "removed"
            except LabUnavailableError:
                removed = False
            if removed:
                raise SessionError(
                    f"{self.plan_name} {self.item_uid} was removed from the queue before it ran"
                )
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{self.plan_name} {self.item_uid} not done after {timeout} s")
            time.sleep(poll)
        if _FINAL.get(str(result.get("exit_status"))) == "failed":
            raise SessionError(f"{self.plan_name} failed on the server: {result.get('msg')}")
        uids = list(result.get("run_uids", []))
        self._wait_stored(uids, deadline, poll)
        return uids

    def _wait_stored(self, uids: list[str], deadline: float | None, poll: float) -> None:
        """Wait until every run's stop document is in the catalog.

        The server ships documents from its journal in the background, so a
        run can end a moment before its last documents are readable.
        """
        last = max(deadline or 0.0, time.monotonic() + _STORED_GRACE_S)
        for uid in uids:
            while not self._lab._has_stop_document(uid):
                if time.monotonic() > last:
                    raise TimeoutError(
                        f"{self.plan_name} {self.item_uid} ended, but run {uid} is not complete "
                        "in the catalog yet (the server's storage backlog); try again later"
                    )
                time.sleep(poll)


class RemoteLab:
    """A shared lab served by ``smartlab serve``, seen from one user's notebook.

    Args:
        url: The queue server's address, e.g. ``http://127.0.0.1:60610``.
        api_key: Your key (default: the ``SMARTLAB_API_KEY`` environment variable).
        catalog_uri: The tiled server's API address (default: what the server says).
        timeout: Seconds per HTTP request.

    Raises:
        SessionError: If no key is given, or the server refuses it or is unreachable.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        catalog_uri: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        import httpx
        from bluesky_queueserver_api.http import REManagerAPI

        key = api_key or os.environ.get(API_KEY_ENV)
        if not key:
            raise SessionError(
                f"connecting to {url} needs your API key: Lab.connect(url, api_key=...) "
                f"or set {API_KEY_ENV}"
            )
        self.url = url.rstrip("/")
        self._key = key
        try:
            response = httpx.get(
                f"{self.url}/api/smartlab/info",
                headers={"Authorization": f"ApiKey {key}"},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise SessionError(f"cannot reach the lab server at {self.url}: {exc}") from exc
        if response.status_code == 401:
            raise SessionError(f"the lab server at {self.url} refused this API key")
        response.raise_for_status()
        info = response.json()
        #: Your user name, as the server knows it.
        self.user: str = info["user"]
        #: Your roles (``student``, or ``admin``/``expert`` for an instructor).
        self.roles: list[str] = list(info["roles"])
        self.catalog_uri: str = catalog_uri or info["catalog_uri"]
        self._api = REManagerAPI(http_server_uri=self.url, timeout=timeout)
        self._api.set_authorization_key(api_key=key)
        self.submitted: list[RemoteRun] = []
        self._catalog: Any = None
        self._room: RemoteRoom | None = None
        self._timeout = timeout

    @property
    def is_instructor(self) -> bool:
        """Whether this key may manage the queue and read every run."""
        return "admin" in self.roles

    def __repr__(self) -> str:
        return f"<RemoteLab {self.url} user={self.user!r} roles={self.roles}>"

    # -- running plans --------------------------------------------------------

    def plans(self) -> dict[str, Any]:
        """Plans you may submit: name -> description of its parameters."""
        return dict(self._call("plans_allowed")["plans_allowed"])

    def submit(
        self, plan_name: str, *args: Any, md: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> RemoteRun:
        """Add ``plan_name(*args, **kwargs)`` to the shared queue and return at once.

        Arguments must be JSON values (numbers, strings, lists, dicts). Every
        run it records carries ``md`` and ``operator``: your user name, which
        the server takes from your key (an ``operator`` in ``md`` is replaced).

        Raises:
            TypeError: If ``plan_name`` is not a string (e.g. a generator).
            SessionError: If the server refuses the item (unknown plan, bad arguments).
        """
        if not isinstance(plan_name, str):
            raise TypeError(
                "a shared lab runs plans by name with JSON arguments, e.g. "
                f"lab.submit('measure', temperature_c=60); got {type(plan_name).__name__}"
            )
        item = {
            "item_type": "plan",
            "name": plan_name,
            "args": list(args),
            "kwargs": kwargs,
            "meta": dict(md or {}),
        }
        if self.is_instructor:
            response = self._call("item_add", item)
        else:  # students may only append, under their own name (see serve/queue_router)
            response = self._call("send_request", method=_STUDENT_ADD, params={"item": item})
        run = RemoteRun(self, response["item"]["item_uid"], plan_name)
        self.submitted.append(run)
        return run

    run = submit

    def campaign(self, planner: Any, budget: int = 10, **kwargs: Any) -> list[Any]:
        """Run a closed-loop campaign of your planner on this shared lab (blocks until done).

        See :func:`~smartlab_kernel.remote.campaign.remote_campaign`
        for the keyword arguments (``batch``, ``approve``, ``on_result``...).
        """
        return remote_campaign(self, planner, budget, **kwargs)

    def pause(self, defer: bool = False) -> None:
        """Pause the running plan (instructors only)."""
        self._call("re_pause", option="deferred" if defer else "immediate")

    def resume(self) -> None:
        """Resume the paused plan (instructors only)."""
        self._call("re_resume")

    def abort(self, reason: str = "aborted by the instructor") -> None:
        """Abort the paused plan (instructors only); the queue goes on with the next item.

        The queueserver aborts a *paused* plan, so a running one is paused first.
        ``reason`` is logged on the server's console (the queue keeps no reason).
        """
        if self._call("status", reload=True).get("re_state") == "running":
            self.pause()
            self._api.wait_for_idle_or_paused(timeout=30)
        self._call("re_abort")
        self.last_abort_reason = reason

    # -- watching -------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The shared queue now: state, running item, length, and your items' positions."""
        status = self._call("status", reload=True)
        running = self.running()
        return {
            "user": self.user,
            "roles": self.roles,
            "manager_state": status.get("manager_state"),
            "state": status.get("re_state"),
            "running": running,
            "queued": status.get("items_in_queue"),
            "history": status.get("items_in_history"),
            "my_positions": [q["position"] for q in self.queue() if q["mine"]],
            "autostart": status.get("queue_autostart_enabled"),
        }

    def running(self) -> dict[str, Any] | None:
        """The item running now, or ``None``."""
        item = self._call("queue_get").get("running_item") or None
        return _describe(item, self.user, 0) if item else None

    def queue(self) -> list[dict[str, Any]]:
        """Items waiting, in order: position (1 = next), name, user, kwargs, uid, ``mine``."""
        items = self._call("queue_get")["items"]
        return [_describe(item, self.user, i) for i, item in enumerate(items, start=1)]

    def history(self) -> list[dict[str, Any]]:
        """Items that ran (oldest first) with their exit status, run uids and message."""
        out = []
        for item in self._call("history_get")["items"]:
            entry = _describe(item, self.user, None)
            result = item.get("result", {})
            entry.update(
                exit_status=result.get("exit_status"),
                run_uids=list(result.get("run_uids", [])),
                message=result.get("msg", ""),
            )
            out.append(entry)
        return out

    def wait(self, timeout: float | None = None) -> None:
        """Block until every plan you submitted here has ended and its runs are in the catalog.

        Raises:
            TimeoutError: If that takes longer than ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pending = list(self.submitted)
        while pending:
            try:
                done_uids = {h["item_uid"] for h in self.history()}
            except LabUnavailableError:
                done_uids = set()
            pending = [r for r in pending if r.item_uid not in done_uids]
            if pending:  # an item neither waiting nor done was removed: nothing to wait for
                try:
                    waiting = set(self._waiting())
                    pending = [r for r in pending if r.item_uid in waiting or r.state != "removed"]
                except LabUnavailableError:
                    pass
            if pending and deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} submitted plans still not done")
            if pending:
                time.sleep(0.2)
        wanted = {uid for r in self.submitted for uid in r.uids}
        while wanted - set(self._all_runs()):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"runs {sorted(wanted - set(self._all_runs()))} not in catalog")
            time.sleep(0.2)

    # -- editing the queue ----------------------------------------------------

    def remove(self, item_uid: str) -> None:
        """Remove a waiting item from the queue (a student: only one of their own).

        Raises:
            SessionError: If a student tries to remove someone else's item.
        """
        if self.is_instructor:
            self._call("item_remove", uid=item_uid)
        else:
            self._call("send_request", method=_STUDENT_REMOVE, params={"uid": item_uid})

    def move(self, item_uid: str, position: int) -> None:
        """Move a waiting item to ``position`` (1 = next)."""
        self._call("item_move", uid=item_uid, pos_dest=max(0, position - 1))

    # -- the room -------------------------------------------------------------

    @property
    def room(self) -> RemoteRoom:
        """The lab's room: live values, alarms, energy; control for instructors.

        ``LabMonitor(lab.room)`` shows it in the notebook.
        """
        if self._room is None:
            self._room = RemoteRoom(self)
        return self._room

    # -- data -----------------------------------------------------------------

    def _has_stop_document(self, uid: str) -> bool:
        """Whether run ``uid``'s stop document is in the catalog (one request, no retries).

        ``catalog[uid]`` would fall back to a search by partial uid, retried
        with back-off, while the run is not there yet.
        """
        body = self._catalog_get(f"metadata/runs/{uid}")
        if body is None:
            return False  # not there, busy or restarting: ask again
        return bool(body["data"]["attributes"]["metadata"].get("stop"))

    def _catalog_get(
        self, path: str, params: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """One GET of ``path`` under the catalog's API with this key, no retries.

        Returns:
            The JSON body, or ``None`` if the catalog did not answer 200.
        """
        import httpx

        base = self.catalog_uri.rstrip("/")
        if not base.endswith("/api/v1"):
            base += "/api/v1"
        try:
            response = httpx.get(
                f"{base}/{path}",
                params=dict(params) if params is not None else None,
                headers={"Authorization": f"Apikey {self._key}"},
                timeout=self._timeout if timeout is None else timeout,
            )
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    @property
    def catalog(self) -> Any:
        """Runs in the lab's tiled catalog: yours, or every run for an instructor.

        The server enforces this (its access policy filters on the start
        document's ``operator``, which the queue writes from your key); the
        search here only repeats it, so a student's view is the same with
        any tiled client.
        """
        if self._catalog is None:
            from tiled.client import from_uri

            self._catalog = from_uri(self.catalog_uri, api_key=self._key)["runs"]
        if self.is_instructor:
            return self._catalog
        from tiled.queries import Key

        return self._catalog.search(Key("start.operator") == self.user)

    def _all_runs(self) -> list[str]:
        return list(self.catalog)

    def close(self) -> None:
        """Close the HTTP client."""
        self._api.close()

    def __enter__(self) -> RemoteLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------

    def _waiting(self) -> dict[str, str]:
        """``{item uid: "running" or "queued"}`` for the queue now (one fresh read)."""
        queue = self._call("queue_get", reload=True)
        places = {str(item.get("item_uid")): "queued" for item in queue.get("items", [])}
        running = (queue.get("running_item") or {}).get("item_uid")
        if running:
            places[str(running)] = "running"
        return places

    def _history_item(self, item_uid: str, reload: bool = False) -> dict[str, Any] | None:
        for item in reversed(self._call("history_get", reload=reload)["items"]):
            if item.get("item_uid") == item_uid:
                return dict(item)
        return None

    def _http(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> Any:
        """Call one of the server's own endpoints (``/api/smartlab/...``) with this key."""
        import httpx

        try:
            response = httpx.request(
                method,
                f"{self.url}{path}",
                json=dict(payload) if payload is not None else None,
                headers={"Authorization": f"ApiKey {self._key}"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise LabUnavailableError(f"the lab server did not answer {path} ({exc})") from exc
        if response.is_success:
            return response.json()
        try:
            detail = str(response.json().get("detail", response.text))
        except ValueError:
            detail = response.text
        if response.status_code == 403:
            raise RoomNotAllowedError(detail)
        if response.status_code == 422:
            raise ValueError(detail)
        if response.status_code in (408, 502, 503, 504):
            raise LabUnavailableError(f"{path}: {detail}; try again shortly")
        raise SessionError(f"the lab server refused {method} {path}: {detail}")

    def _call(self, name: str, /, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from bluesky_queueserver_api.comm_base import (
            HTTPClientError,
            HTTPRequestError,
            HTTPServerError,
            RequestFailedError,
        )

        try:
            return dict(getattr(self._api, name)(*args, **kwargs))
        except (HTTPClientError, HTTPServerError, HTTPRequestError, RequestFailedError) as exc:
            if name == "send_request":  # name it by its endpoint: .../item/add -> item_add
                name = "_".join(kwargs["method"][1].split("/")[-2:])
            text = str(exc)
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if isinstance(exc, HTTPRequestError | HTTPServerError) or status == 408:
                raise LabUnavailableError(
                    f"the lab server did not answer {name} ({text}); try again shortly"
                ) from exc
            if "Not enough permissions" in text:
                raise SessionError(
                    f"{name} is not allowed for {self.user!r} (roles {self.roles}); "
                    "ask an instructor"
                ) from exc
            raise SessionError(f"the lab server refused {name}: {text}") from exc


def _describe(item: Mapping[str, Any], user: str, position: int | None) -> dict[str, Any]:
    return {
        "position": position,
        "item_uid": item.get("item_uid"),
        "name": item.get("name"),
        "user": item.get("user"),
        "args": list(item.get("args", [])),
        "kwargs": dict(item.get("kwargs", {})),
        "mine": item.get("user") == user,
    }
