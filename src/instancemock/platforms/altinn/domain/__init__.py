"""The Altinn 3 world shared by the Storage and App APIs: parties, apps, instances and queries.

Both Altinn APIs read and write the same world (`altinn`), so everything that is not specific to
one API's wire format lives here and is imported by `../storage.py` and `../app/`.
"""
