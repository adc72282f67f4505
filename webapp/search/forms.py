from django import forms


class IdentifyForm(forms.Form):
    photo = forms.FileField(label="Photo")
