"""The API's background jobs and history (docs/api.md): start a grouping run or the face
map and follow its progress, list the operation log and undo. The same services as the
People, Face map and History pages' buttons (grouping.py, facemap.py, oplog.py)."""
from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from webapp.core.apikit import ApiError, JobOut, Page, job_out, not_found, responses
from webapp.people import selectors
from webapp.people.api import Shown, absolute
from webapp.people.facemap import facemap_points, facemap_request
from webapp.people.grouping import grouping_start
from webapp.people.models import FaceMap, GroupingRun, Operation
from webapp.people.oplog import NothingToUndo, operation_undo

router = Router()


class GroupingRunOut(JobOut):
    id: int
    method: str
    edited_since: bool = Field(description="an edit or undo came after the run: its counts are out of date")
    url: str = Field(description="this run's progress (GET)")


def _run_out(request, run: GroupingRun) -> dict:
    return {**job_out(run), "id": run.pk, "method": run.method, "edited_since": getattr(run, "edited_since", False),
            "url": absolute(request, "api:grouping-run", run.pk)}


class GroupingIn(Schema):
    method: Literal["hdbscan", "agglomerative"] | None = Field(None, description="the clustering; the server's default when left out")


@router.post("/grouping", response=responses(GroupingRunOut, 202), url_name="grouping-start", tags=["jobs"])
def grouping_begin(request: HttpRequest, body: GroupingIn):
    """Group your faces again (the People page's "Group faces"), in the background: the
    answer is the run, whose ``url`` tells its progress. One run at a time: while one is
    open this answers it. When done, one undoable operation."""
    run = grouping_start(owner=request.user, method=body.method, created_by=request.user)
    return Status(202, _run_out(request, selectors.grouping_run(owner=request.user, run_id=run.pk)))


@router.get("/grouping", response=responses(GroupingRunOut), url_name="grouping-latest", tags=["jobs"])
def grouping_latest(request: HttpRequest):
    """Your latest grouping run (started by you, or after uploads settled), as the People
    page shows it. 404 before the first."""
    run = selectors.grouping_latest(owner=request.user)
    if run is None:
        raise ApiError("No grouping run yet.", status=404)
    return _run_out(request, run)


@router.get("/grouping/{int:run_id}", response=responses(GroupingRunOut), url_name="grouping-run", tags=["jobs"])
def grouping_run(request: HttpRequest, run_id: int):
    """One grouping run and its progress."""
    run = selectors.grouping_run(owner=request.user, run_id=run_id)
    if run is None:
        raise not_found("grouping run", run_id)
    return _run_out(request, run)


class MapPoint(Schema):
    face: int
    x: float
    y: float
    person: int | None
    name: str = Field(description='the person\'s name, "Unnamed" for a group, "Unsorted" for nobody\'s')


class FaceMapOut(JobOut):
    face_count: int = Field(description="faces mapped")
    points: list[MapPoint] = Field(description="when done: every face that still exists, x and y in 0-1")


def _map_out(request, face_map: FaceMap) -> dict:
    done = face_map.status == FaceMap.Status.DONE
    return {**job_out(face_map), "face_count": face_map.face_count,
            "points": facemap_points(owner=request.user, face_map=face_map) if done else []}


@router.post("/face-map", response=responses(FaceMapOut, 202), url_name="face-map-start", tags=["jobs"])
def face_map_begin(request: HttpRequest):
    """Compute your face map in the background (the Face map page): when there is none,
    when the library changed by more than a tenth since, or again after a failure.
    Otherwise answers the map as it is."""
    return Status(202, _map_out(request, facemap_request(owner=request.user, again=True)))


@router.get("/face-map", response=responses(FaceMapOut), url_name="face-map", tags=["jobs"])
def face_map(request: HttpRequest):
    """Your face map and its progress; 404 before the first ``POST``."""
    face_map = selectors.facemap_latest(owner=request.user)
    if face_map is None:
        raise ApiError("No face map yet: start one with POST.", status=404)
    return _map_out(request, face_map)


# ---- History and undo --------------------------------------------------------------------

class OperationOut(Schema):
    id: int
    kind: str = Field(description="name, rename, merge, split, remove, hide, confirm, reject, review, group, not-a-face, add-face")
    summary: str
    created_at: datetime
    undone_at: datetime | None
    next_undo: bool = Field(description="the operation an undo reverts now")


def _operation_out(operation: Operation, next_undo: int | None) -> dict:
    return {"id": operation.pk, "kind": operation.kind, "summary": operation.summary, "created_at": operation.created_at,
            "undone_at": operation.undone_at, "next_undo": operation.pk == next_undo}


@router.get("/history", response=responses(list[OperationOut]), url_name="history", tags=["history"])
@paginate(Page)
def history(request: HttpRequest):
    """Every edit of your library, latest first (the History page), undone ones marked."""
    undoable = selectors.operation_undoable(owner=request.user)
    next_undo = undoable.pk if undoable else None
    return Shown(selectors.operation_log(owner=request.user, limit=None),
                 lambda page: [_operation_out(operation, next_undo) for operation in page])


@router.post("/undo", response=responses(OperationOut, 200, 409), url_name="undo", tags=["history"])
def undo(request: HttpRequest):
    """Undo your latest edit that is not undone yet, exactly, row for row; again undoes
    the one before. 409 when there is nothing left to undo."""
    try:
        operation = operation_undo(owner=request.user)
    except NothingToUndo as exc:
        raise ApiError(str(exc), status=409) from None
    return _operation_out(operation, None)
