SELECT model.name AS model, neuron.layer AS layer, count(*) AS n_neurons, count(CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT)) AS n_values, avg(CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT)) AS value 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score_vector AS s0 ON s0.set_id = %(set_id_1)s::INTEGER AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_2)s::INTEGER 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND neuron.layer BETWEEN %(layer_1)s::INTEGER AND %(layer_2)s::INTEGER GROUP BY model.name, neuron.layer ORDER BY model.name COLLATE "C", neuron.layer
-- parameters: {'unit_1': 256, 'param_1': 1, 'param_2': 'NaN', 'set_id_1': 254, 'unit_2': 256, 'model_id_1': 1, 'site_1': 'resid', 'layer_1': 2, 'layer_2': 5}
-- score sets read:
-- iou[alpha=0.01](noun) of bert: run 2, method row 7 {"alpha":0.01}
