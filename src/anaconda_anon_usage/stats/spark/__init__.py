"""The counting side on Apache Spark (``--engine spark``).

Needs the ``spark`` extra (pyspark and a Java runtime). Nothing outside this
package imports it: the local engine and the conda plugin never load pyspark.
"""
