DROP TRIGGER locations_revise_routing ON locations;
DROP TRIGGER locations_revise ON locations;
DROP TRIGGER parts_revise ON parts;
DROP TRIGGER lateral_lanes_revise ON lateral_lanes;
DROP TRIGGER tiers_revise ON tiers;
DROP FUNCTION master_revised();
DROP TABLE master_revision;
DROP SEQUENCE master_revision_seq;
