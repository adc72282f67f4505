from django.apps import AppConfig


class FacesConfig(AppConfig):
    name = "webapp.faces"
    label = "faces"

    def ready(self) -> None:
        # Faces reacts to photos through its signals, as people does to both.
        from webapp.faces.keptnames import names_set_aside
        from webapp.photos.signals import photo_vanishing

        photo_vanishing.connect(names_set_aside, dispatch_uid="faces.names_set_aside")
