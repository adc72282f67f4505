from django.apps import AppConfig


class PhotosConfig(AppConfig):
    name = "webapp.photos"
    label = "photos"
