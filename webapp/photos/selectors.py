"""Reads for albums and photos. Every query is scoped to one owner."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

from webapp.photos.models import Album, Library, LibraryScan, Photo, RegionImport


def album_list(*, owner) -> QuerySet[Album]:
    cover = Photo.objects.filter(album=OuterRef("pk"), status=Photo.Status.DONE).order_by("-created_at", "-id")
    return (
        Album.objects.filter(owner=owner)
        .annotate(
            photo_count=Count("photos", distinct=True),
            face_count=Count("photos__faces"),
            cover_photo_id=Subquery(cover.values("pk")[:1]),
            library_pk=F("library__id"),
        )
        .order_by("-created_at")
    )


def album_for_owner(*, owner, album_id: int) -> Album | None:
    return Album.objects.filter(owner=owner, pk=album_id).first()


def album_with_counts(*, owner, album_id: int) -> Album | None:
    """One album as ``album_list`` shows it."""
    return album_list(owner=owner).filter(pk=album_id).first()


def album_photos(*, album: Album) -> QuerySet[Photo]:
    return album.photos.defer("thumbnail").annotate(face_count=Count("faces")).order_by("-created_at", "-id")


@dataclass(frozen=True)
class AlbumProgress:
    total: int
    queued: int
    done: int
    failed: int

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * self.finished / self.total)

    @property
    def complete(self) -> bool:
        return self.queued == 0


def album_progress(*, album: Album) -> AlbumProgress:
    counts = album.photos.aggregate(
        total=Count("pk"),
        queued=Count("pk", filter=Q(status=Photo.Status.QUEUED)),
        done=Count("pk", filter=Q(status=Photo.Status.DONE)),
        failed=Count("pk", filter=Q(status=Photo.Status.FAILED)),
    )
    return AlbumProgress(**counts)


def photo_for_owner(*, owner, photo_id: int) -> Photo | None:
    return Photo.objects.filter(owner=owner, pk=photo_id).select_related("album", "library").first()


def library_list(*, owner) -> QuerySet[Library]:
    return Library.objects.filter(owner=owner).select_related("album").annotate(
        photo_count=Count("photos", filter=Q(photos__missing=False)),
        missing_count=Count("photos", filter=Q(photos__missing=True)),
    )


def library_for_owner(*, owner, library_id: int) -> Library | None:
    return library_list(owner=owner).filter(pk=library_id).first()


def library_for_album(*, album: Album) -> Library | None:
    return Library.objects.filter(album=album).first()


def library_last_scan(*, library: Library) -> LibraryScan | None:
    return library.scans.order_by("-created_at", "-id").first()


def regions_unmatched(*, photo: Photo) -> RegionImport | None:
    """What the last reading of the photo's face regions gave (names with no detected
    face, regions refused and why), or None if none was read yet."""
    return RegionImport.objects.filter(photo=photo).first()
