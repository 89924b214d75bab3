"""3D scenes (issue #7): 3D Tiles 1.1 of a campus (buildings, pipes, terrain, risk volumes), the
excavation cut, a province quadtree, and the pydeck scene spec of the big screen.

Pure meshing (frame, prism, buildings, pipes, terrain, volumes, excavation) takes plain rows and returns
GLB bytes; queries.py loads; scene.py composes and caches.
"""

from twin.scenes.frame import Frame
from twin.scenes.glb import Primitive, PropertyTable, write_glb

__all__ = ["Frame", "Primitive", "PropertyTable", "write_glb"]
