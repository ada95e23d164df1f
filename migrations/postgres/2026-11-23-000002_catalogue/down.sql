DROP TABLE unit_components;
DROP TABLE product_units;
DROP TABLE compatibility;
DROP TABLE model_component_warranties;
DROP TABLE product_models;
DROP TABLE parts;
