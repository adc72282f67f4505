from django import forms


class IdentifyForm(forms.Form):
    photo = forms.FileField(label="Photo")


class VerifyForm(forms.Form):
    """Each side: a library face id or a photo."""

    face_a = forms.IntegerField(required=False, min_value=1, label="Face A id")
    photo_a = forms.FileField(required=False, label="or photo A")
    face_b = forms.IntegerField(required=False, min_value=1, label="Face B id")
    photo_b = forms.FileField(required=False, label="or photo B")

    def clean(self):
        data = super().clean()
        for side in ("a", "b"):
            if not data.get(f"face_{side}") and not data.get(f"photo_{side}"):
                raise forms.ValidationError(f"Choose face {side.upper()}: a face from your library or a photo.")
        return data

    def side(self, name: str):
        return self.cleaned_data.get(f"face_{name}") or self.cleaned_data[f"photo_{name}"]
