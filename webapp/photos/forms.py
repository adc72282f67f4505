from django import forms


class AlbumForm(forms.Form):
    name = forms.CharField(max_length=200, strip=True, widget=forms.TextInput(attrs={"placeholder": "New album name"}))


class LibraryForm(forms.Form):
    folder = forms.CharField(
        max_length=1000, strip=True,
        widget=forms.TextInput(attrs={"placeholder": "/srv/photos/2026", "aria-label": "Folder on the server"}),
    )
