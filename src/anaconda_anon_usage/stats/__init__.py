"""The counting side: honest weekly numbers from package-server access logs.

Install with the ``stats`` extra (``pip install 'anaconda-anon-usage[stats]'``)
and run ``aau-stats``. The conda plugin never imports this package.
"""
