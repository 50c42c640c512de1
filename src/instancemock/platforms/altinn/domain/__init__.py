"""The Altinn 3 world shared by the Storage and App APIs: parties, apps, instances and queries.

Both Altinn APIs read and write the same dataset (`altinn`), so everything that is not specific to
one API's wire format lives here and is imported by `handlers/altinn_storage.py` and
`handlers/altinn_app.py`.
"""
