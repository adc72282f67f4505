from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "webapp.people"
    label = "people"

    def ready(self) -> None:
        # People builds on photos and faces: it listens to their signals (as
        # django.contrib.auth wires user_logged_in to update_last_login), so neither
        # of them imports this app.
        from webapp.faces.signals import faces_added, photos_processed
        from webapp.people.arrival import faces_arrived
        from webapp.people.metadata_import import regions_import_after_processing
        from webapp.people.receivers import names_refresh_after_photo_delete
        from webapp.photos.signals import photo_deleting, photo_sidecars_changed, photo_vanishing

        # Names in the photos' metadata first: the suggestions made on arrival then use them.
        photos_processed.connect(regions_import_after_processing, dispatch_uid="people.regions_import_after_processing")
        # A sidecar tagged anew in another program (seen by a library rescan): read again.
        photo_sidecars_changed.connect(regions_import_after_processing, dispatch_uid="people.regions_import_after_sidecar")
        faces_added.connect(faces_arrived, dispatch_uid="people.faces_arrived")
        photo_deleting.connect(names_refresh_after_photo_delete, dispatch_uid="people.names_refresh_after_photo_delete")
        photo_vanishing.connect(names_refresh_after_photo_delete, dispatch_uid="people.names_refresh_after_photo_vanish")
