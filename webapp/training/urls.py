from django.urls import path

from webapp.training import views

urlpatterns = [
    path("model/", views.model_page, name="model-page"),
    path("model/jobs/", views.model_jobs, name="model-jobs"),
    path("model/runs/", views.run_start, name="model-run-start"),
    path("model/runs/<int:run_id>/cancel/", views.run_cancel, name="model-run-cancel"),
    path("model/runs/<int:run_id>/discard/", views.run_discard, name="model-run-discard"),
    path("model/versions/<int:model_id>/promote/", views.version_promote, name="model-promote"),
    path("model/versions/<int:model_id>/rollback/", views.version_rollback, name="model-rollback"),
    path("model/embeddings/cleanup/", views.embeddings_clean, name="model-cleanup"),
]
