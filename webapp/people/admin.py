from django.contrib import admin

from webapp.people.models import Person


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "hidden", "created_at"]
    list_filter = ["owner", "hidden"]
