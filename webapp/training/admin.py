from django.contrib import admin
from django.shortcuts import redirect

from webapp.training.models import TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    """The admin's entry for retraining opens the "Face model" page, where runs are started,
    followed, promoted and rolled back; the rows themselves are not edited by hand."""

    def changelist_view(self, request, extra_context=None):
        return redirect("model-page")

    def has_add_permission(self, request) -> bool:
        return False
