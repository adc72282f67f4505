from django import forms


class AlbumForm(forms.Form):
    name = forms.CharField(max_length=200, strip=True, widget=forms.TextInput(attrs={"placeholder": "New album name"}))
