"""People pages and the edit actions behind their buttons. Each action calls one service
and comes back to the page it was sent from, with a message."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.people import faceedits, selectors, services
from webapp.people.facemap import facemap_points, facemap_request
from webapp.people.grouping import grouping_start
from webapp.people.models import FaceMap
from webapp.people.oplog import NothingToUndo, operation_undo
from webapp.photos.selectors import photo_for_owner


def _back(request, fallback: str = "people-list"):
    target = request.POST.get("next") or request.META.get("HTTP_REFERER")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def _origin_person_id(request) -> int | None:
    """The person whose page sent this request, if it was a person page."""
    target = request.POST.get("next") or ""
    try:
        match = resolve(target.split("?")[0]) if target.startswith("/") else None
    except Resolver404:
        return None
    return int(match.kwargs["person_id"]) if match and match.url_name == "person-detail" else None


def _person_or_404(request, person_id: int):
    try:
        return services.person_for_owner(owner=request.user, person_id=person_id)
    except services.EditError as exc:
        raise Http404(str(exc)) from exc


@require_GET
def people_list(request):
    return render(request, "people/people_list.html", {
        "people": selectors.person_list(owner=request.user),
        "hidden": selectors.person_list(owner=request.user, hidden=True),
        "unsorted": selectors.unsorted_faces(owner=request.user).count(),
        "to_review": selectors.review_count(owner=request.user),
        "last_operation": selectors.operation_undoable(owner=request.user),
        "run": selectors.grouping_latest(owner=request.user),
    })


@require_GET
def person_detail(request, person_id: int):
    person = _person_or_404(request, person_id)
    page = Paginator(selectors.person_faces(person=person), 120).get_page(request.GET.get("page"))
    others = selectors.person_list(owner=request.user).exclude(pk=person.pk)
    return render(request, "people/person_detail.html", {"person": person, "page": page, "others": others})


def names_joined(people) -> str:
    """"Alice", "Alice and Bob", "Alice, Bob and Carol"."""
    names = [str(person) for person in people]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@require_GET
def people_photos(request):
    """The photos with every chosen person (?with=<id>, repeated), and the people who could
    be added to the choice."""
    try:
        chosen = selectors.people_chosen(owner=request.user, person_ids=request.GET.getlist("with"))
    except ValueError:
        chosen = None
    if not chosen:
        raise Http404("Choose people of yours: ?with=<person id>")
    page = Paginator(selectors.photos_with_people(owner=request.user, people=chosen), 60).get_page(request.GET.get("page"))
    ids = [person.pk for person in chosen]
    return render(request, "people/photos.html", {
        "chosen": [(person, [i for i in ids if i != person.pk]) for person in chosen],
        "title": names_joined(chosen), "page": page, "photos": page.object_list, "chosen_ids": ids,
        "others": selectors.person_list(owner=request.user).exclude(pk__in=ids),
        "pager_query": urlencode([("with", i) for i in ids]),
    })


@require_GET
def unsorted(request):
    page = Paginator(selectors.unsorted_faces(owner=request.user), 120).get_page(request.GET.get("page"))
    return render(request, "people/unsorted.html", {"page": page, "others": selectors.person_list(owner=request.user)})


def _review_page(request, template: str):
    return render(request, template, {
        "items": selectors.review_items(owner=request.user),
        "remaining": selectors.review_count(owner=request.user),
        "pairs": selectors.person_pairs_close(owner=request.user),
    })


@require_GET
def review(request):
    return _review_page(request, "people/review.html")


@require_GET
def operations(request):
    return render(request, "people/operations.html", {"operations": selectors.operation_log(owner=request.user)})


@require_POST
def faces_action(request):
    """The selection toolbar: name, move, split off, remove, confirm, reject."""
    action = request.POST.get("action")
    face_ids = request.POST.getlist("face_ids")
    person = None
    try:
        if action == "name":
            person = services.faces_name(owner=request.user, face_ids=face_ids, name=request.POST.get("name", ""))
            messages.success(request, f"Named {len(face_ids)} face(s) {person.name}.")
        elif action == "split":
            # The name typed in the toolbar, if any, names the new person.
            person = services.faces_move(owner=request.user, face_ids=face_ids, person_id=None, name=request.POST.get("name", ""))
            messages.success(request, f"Split {len(face_ids)} face(s) off into {person.name or 'a new person'}.")
        elif action == "move":
            target = request.POST.get("person_id")
            if not target:
                raise services.EditError("Choose whom to move the faces to.")
            person = services.faces_move(owner=request.user, face_ids=face_ids, person_id=int(target))
            messages.success(request, f"Moved {len(face_ids)} face(s) to {person}.")
        elif action == "remove":
            count = services.faces_remove(owner=request.user, face_ids=face_ids)
            messages.success(request, f"Removed {count} face(s) from their person.")
        elif action == "review":
            # A review card: the ticked faces are the suggested person, the others are not;
            # "No" says none of them are.
            shown = request.POST.getlist("shown_ids")
            ticked = face_ids if request.POST.get("answer") == "yes" else []
            confirmed, rejected = services.suggestions_settle(owner=request.user, confirm_ids=ticked, reject_ids=shown)
            messages.success(request, services.settled_summary(confirmed, rejected) + ".")
        elif action in ("confirm", "reject"):
            count = services.suggestions_answer(owner=request.user, face_ids=face_ids, accept=action == "confirm")
            messages.success(request, f"{action.title()}ed {count} suggestion(s).")
        else:
            messages.error(request, "Unknown action.")
    except (services.EditError, ValueError) as exc:
        messages.error(request, str(exc))
    if request.htmx and request.POST.get("from") == "review":
        return _review_page(request, "people/_review_list.html")
    origin = _origin_person_id(request)
    if person is not None and origin is not None and origin != person.pk and not selectors.person_has_faces(person_id=origin):
        # Every face left the page the user was on (an emptied unnamed group is deleted):
        # follow the faces instead of stranding the user on an empty or missing person.
        return redirect("person-detail", person_id=person.pk)
    return _back(request)


@require_POST
def person_edit(request, person_id: int):
    """Rename, hide/show or merge one person."""
    person = _person_or_404(request, person_id)
    action = request.POST.get("action")
    try:
        if action == "rename":
            services.person_rename(owner=request.user, person_id=person.pk, name=request.POST.get("name", ""))
            messages.success(request, "Renamed.")
        elif action in ("hide", "show"):
            services.person_hide(owner=request.user, person_id=person.pk, hidden=action == "hide")
            messages.success(request, f"{person} is {'hidden' if action == 'hide' else 'shown again'}.")
        elif action == "merge":
            if not request.POST.get("target_id"):
                raise services.EditError("Choose whom to merge into.")
            target = services.person_merge(
                owner=request.user, source_id=person.pk, target_id=int(request.POST["target_id"]),
                keep_name=request.POST.get("keep_name", "target"),
            )
            messages.success(request, f"Merged into {target}.")
            return redirect("person-detail", person_id=target.pk)
        else:
            messages.error(request, "Unknown action.")
    except (services.EditError, ValueError) as exc:
        messages.error(request, str(exc))
    return _back(request)


@require_POST
def pair_answer(request):
    """ "Are these the same person?": yes merges the second into the first, no remembers."""
    try:
        first, second = int(request.POST["first"]), int(request.POST["second"])
        if request.POST.get("answer") == "same":
            target = services.person_merge(owner=request.user, source_id=second, target_id=first)
            messages.success(request, f"Merged into {target}.")
        else:
            services.people_distinct(owner=request.user, first_id=first, second_id=second)
            messages.success(request, "Noted: two different people. You won't be asked about them again.")
    except (KeyError, ValueError, services.EditError) as exc:
        messages.error(request, str(exc) if isinstance(exc, services.EditError) else "Bad request.")
    return _back(request, "people-review")


@require_POST
def group(request):
    grouping_start(owner=request.user, method=request.POST.get("method") or None, created_by=request.user)
    return _back(request)


@require_GET
def group_progress(request):
    return render(request, "people/_grouping.html", {"run": selectors.grouping_latest(owner=request.user)})


@require_POST
def undo(request):
    try:
        operation = operation_undo(owner=request.user)
        messages.success(request, f"Undone: {operation.summary}.")
    except NothingToUndo as exc:
        messages.error(request, str(exc))
    return _back(request)


# The tag of a message that says what an edit did: the page shows an Undo button beside it.
UNDOABLE = "undoable"


@require_POST
def face_not_a_face(request, face_id: int):
    try:
        photo = faceedits.face_not_a_face(owner=request.user, face_id=face_id)
    except services.EditError as exc:
        raise Http404(str(exc)) from exc
    messages.success(request, "Marked as not a face.", extra_tags=UNDOABLE)
    return redirect("photo-detail", photo_id=photo.pk)


@require_POST
def face_add(request, photo_id: int):
    """The box drawn on the photo page (x0, y0, x1, y1 in the photo's pixels) and a name."""
    if photo_for_owner(owner=request.user, photo_id=photo_id) is None:
        raise Http404("No such photo")
    box = [request.POST.get(key) for key in ("x0", "y0", "x1", "y1")]
    try:
        face = faceedits.face_add(owner=request.user, photo_id=photo_id, box=box, name=request.POST.get("name", ""))
    except services.EditError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Added a face{f' named {face.person}' if face.person_id else ''}.", extra_tags=UNDOABLE)
    return redirect("photo-detail", photo_id=photo_id)


@require_http_methods(["GET", "POST"])
def face_map(request):
    """POST: compute again after a failure."""
    face_map = facemap_request(owner=request.user, again=request.method == "POST")
    if request.method == "POST" and not request.htmx:
        return redirect("face-map")
    points = facemap_points(owner=request.user, face_map=face_map) if face_map.status == FaceMap.Status.DONE else []
    for point in points:
        point["hue"] = round((point["person"] or 0) * 137.508) % 360
    template = "people/_face_map.html" if request.htmx else "people/face_map.html"
    return render(request, template, {"face_map": face_map, "points": points})
